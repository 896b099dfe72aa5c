from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from leadflood.companies import service as companies
from leadflood.companies.schemas import CompanyDetail, CompanyRead, CompanyUpdate
from leadflood.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from leadflood.web.deps import MemberDep, SessionDep, ViewerDep

router = APIRouter(prefix="/v1/companies", tags=["companies"])

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Cursor = Annotated[str | None, Query(max_length=200)]
Search = Annotated[str | None, Query(max_length=200, description="Part of a name or domain.")]


@router.get("", response_model=Page[CompanyRead])
async def list_companies(
    session: SessionDep,
    member: ViewerDep,
    q: Search = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[CompanyRead]:
    """Companies newest first, each with its number of leads; keyset pages."""
    page = await companies.list_page(session, member.workspace_id, q=q, limit=limit, cursor=cursor)
    return Page[CompanyRead].of(page, lambda row: row)


@router.get("/{company_id}", response_model=CompanyDetail)
async def get_company(
    company_id: uuid.UUID, session: SessionDep, member: ViewerDep
) -> CompanyDetail:
    """The company with its people (best score first) and their enrollment states."""
    return await companies.detail(session, member.workspace_id, company_id)


@router.patch("/{company_id}", response_model=CompanyRead)
async def update_company(
    company_id: uuid.UUID, data: CompanyUpdate, session: SessionDep, member: MemberDep
) -> CompanyRead:
    await companies.update(session, member.workspace_id, company_id, data, by=member)
    found = await companies.detail(session, member.workspace_id, company_id)
    return CompanyRead.model_validate(found.model_dump(exclude={"people"}))


def routers() -> list[APIRouter]:
    """This feature's API routers, in the order they are matched."""
    return [router]

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from leadflood.deps import SessionDep, WorkspaceDep
from leadflood.leads import service as leads
from leadflood.leads.schemas import LeadCreate, LeadCreated, LeadRead
from leadflood.models import LeadStatus
from leadflood.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page

router = APIRouter(prefix="/v1/leads", tags=["leads"])


@router.post("", status_code=201, response_model=LeadCreated)
async def create_lead(
    data: LeadCreate, session: SessionDep, workspace: WorkspaceDep
) -> LeadCreated:
    lead, job_id = await leads.create(session, workspace.id, data)
    return LeadCreated(lead_id=lead.id, job_id=job_id)


@router.get("", response_model=Page[LeadRead])
async def list_leads(
    session: SessionDep,
    workspace: WorkspaceDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    status: LeadStatus | None = None,
) -> Page[LeadRead]:
    rows, next_cursor = await leads.list_page(
        session, workspace.id, limit=limit, cursor=cursor, status=status
    )
    return Page[LeadRead](
        items=[LeadRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.get("/{lead_id}", response_model=LeadRead)
async def get_lead(lead_id: uuid.UUID, session: SessionDep, workspace: WorkspaceDep) -> LeadRead:
    return LeadRead.model_validate(await leads.get(session, workspace.id, lead_id))

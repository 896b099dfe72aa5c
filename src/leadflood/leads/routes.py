from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from leadflood.leads import bulk, export, queries, timeline
from leadflood.leads import service as leads
from leadflood.leads.schemas import (
    BulkRead,
    LeadCreate,
    LeadCreated,
    LeadDetail,
    LeadFilter,
    LeadRead,
    LeadSort,
    LeadUpdate,
)
from leadflood.models import LeadStatus, VerificationStatus
from leadflood.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from leadflood.web.deps import MemberDep, RuntimeDep, SessionDep, WorkspaceDep
from leadflood.web.idempotency import Idempotent

router = APIRouter(prefix="/v1/leads", tags=["leads"])


@router.post("", status_code=201, response_model=LeadCreated, dependencies=[Idempotent])
async def create_lead(data: LeadCreate, session: SessionDep, member: MemberDep) -> LeadCreated:
    lead, job_id = await leads.create(session, member.workspace_id, data)
    return LeadCreated(lead_id=lead.id, job_id=job_id)


def lead_filter(
    status: LeadStatus | None = None,
    verification: VerificationStatus | None = None,
    score_min: Annotated[int | None, Query(ge=0, le=100)] = None,
    score_max: Annotated[int | None, Query(ge=0, le=100)] = None,
    icp_id: uuid.UUID | None = None,
    company_domain: Annotated[str | None, Query(max_length=253)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> LeadFilter:
    """The list's filters as query parameters (the list and the export read the same ones)."""
    return LeadFilter(
        status=status,
        verification=verification,
        score_min=score_min,
        score_max=score_max,
        icp_id=icp_id,
        company_domain=company_domain,
        q=q,
    )


FilterDep = Annotated[LeadFilter, Depends(lead_filter)]


@router.get("", response_model=Page[LeadRead])
async def list_leads(
    session: SessionDep,
    workspace: WorkspaceDep,
    where: FilterDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    sort: LeadSort = "newest",
) -> Page[LeadRead]:
    """Newest first unless `sort` says otherwise (`score` sorts unscored leads last); every
    filter narrows the list and the cursor keeps them."""
    page = await queries.list_page(
        session, workspace.id, where, sort=sort, limit=limit, cursor=cursor
    )
    return Page[LeadRead].of(page, LeadRead.model_validate)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The leads as CSV."}},
)
async def export_leads(
    session: SessionDep,
    runtime: RuntimeDep,
    member: MemberDep,
    where: FilterDep,
    lead_ids: Annotated[
        list[uuid.UUID] | None, Query(max_length=export.MAX_PICKED, alias="lead_id")
    ] = None,
) -> StreamingResponse:
    """The leads matching the list's filters (or the ones picked: `lead_id`, repeated) as CSV,
    oldest first: every standard column, then each custom field key of the workspace as
    `custom:<key>`. Streamed as it is read (a million rows in constant memory); `X-Total-Count`
    says how many rows follow the header. The file imports back as the same leads."""
    selection = export.Selection(where=where, lead_ids=lead_ids or [])
    return await export.download(session, runtime.db, member, selection)


@router.get("/bulk/{operation_id}", response_model=BulkRead)
async def get_bulk(
    operation_id: uuid.UUID, session: SessionDep, workspace: WorkspaceDep
) -> BulkRead:
    return BulkRead.model_validate(await bulk.get(session, workspace.id, operation_id))


@router.get("/{lead_id}", response_model=LeadRead)
async def get_lead(lead_id: uuid.UUID, session: SessionDep, workspace: WorkspaceDep) -> LeadRead:
    return LeadRead.model_validate(await leads.get(session, workspace.id, lead_id))


@router.patch("/{lead_id}", response_model=LeadRead)
async def update_lead(
    lead_id: uuid.UUID, data: LeadUpdate, session: SessionDep, member: MemberDep
) -> LeadRead:
    """Change any field with the checks of creation (null clears a field; `custom_fields` is
    merged key by key, null removing a key). 409 `lead_exists` when another lead has the email
    or LinkedIn profile, 409 `erased` for an erased person's identity. A new email is unverified
    again; the score is recomputed. Audited."""
    lead = await leads.update(session, member.workspace_id, lead_id, data, by=member)
    return LeadRead.model_validate(lead)


@router.get("/{lead_id}/detail", response_model=LeadDetail)
async def lead_detail(
    lead_id: uuid.UUID, session: SessionDep, workspace: WorkspaceDep
) -> LeadDetail:
    """Every field with the provider that set it, the verification evidence, the score
    breakdown and the timeline (created, enriched, verified, scored, failed jobs)."""
    return await timeline.detail(session, await leads.get(session, workspace.id, lead_id))


def routers() -> list[APIRouter]:
    """This feature's API routers, in the order they are matched."""
    return [router]

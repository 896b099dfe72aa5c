from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from leadflood.deps import MemberDep, SessionDep, WorkspaceDep
from leadflood.leads import actions, bulk, queries, timeline
from leadflood.leads import service as leads
from leadflood.leads.enrichment_schemas import (
    BulkRead,
    BulkRequest,
    BulkStarted,
    JobStarted,
    LeadDetail,
    LeadFilter,
    LeadSort,
)
from leadflood.leads.schemas import LeadCreate, LeadCreated, LeadRead
from leadflood.models import BulkAction, LeadStatus, VerificationStatus
from leadflood.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page

router = APIRouter(prefix="/v1/leads", tags=["leads"])


@router.post("", status_code=201, response_model=LeadCreated)
async def create_lead(data: LeadCreate, session: SessionDep, member: MemberDep) -> LeadCreated:
    lead, job_id = await leads.create(session, member.workspace_id, data)
    return LeadCreated(lead_id=lead.id, job_id=job_id)


@router.get("", response_model=Page[LeadRead])
async def list_leads(
    session: SessionDep,
    workspace: WorkspaceDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    status: LeadStatus | None = None,
    verification: VerificationStatus | None = None,
    score_min: Annotated[int | None, Query(ge=0, le=100)] = None,
    score_max: Annotated[int | None, Query(ge=0, le=100)] = None,
    icp_id: uuid.UUID | None = None,
    company_domain: Annotated[str | None, Query(max_length=253)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    sort: LeadSort = "newest",
) -> Page[LeadRead]:
    """Newest first unless `sort` says otherwise (`score` sorts unscored leads last); every
    filter narrows the list and the cursor keeps them."""
    where = LeadFilter(
        status=status,
        verification=verification,
        score_min=score_min,
        score_max=score_max,
        icp_id=icp_id,
        company_domain=company_domain,
        q=q,
    )
    page = await queries.list_page(
        session, workspace.id, where, sort=sort, limit=limit, cursor=cursor
    )
    return Page[LeadRead].of(page, LeadRead.model_validate)


async def _bulk(
    session: SessionDep, member: MemberDep, action: BulkAction, request: BulkRequest
) -> BulkStarted:
    operation = await bulk.start(
        session,
        member.workspace_id,
        action,
        request,
        user_id=member.user.id if member.user else None,
    )
    assert operation.job_id is not None
    return BulkStarted(operation_id=operation.id, job_id=operation.job_id)


@router.post("/bulk/enrich", status_code=202, response_model=BulkStarted)
async def bulk_enrich(request: BulkRequest, session: SessionDep, member: MemberDep) -> BulkStarted:
    """Enrich the leads picked, every lead matching a filter, or a search run's leads."""
    return await _bulk(session, member, BulkAction.enrich, request)


@router.post("/bulk/verify", status_code=202, response_model=BulkStarted)
async def bulk_verify(request: BulkRequest, session: SessionDep, member: MemberDep) -> BulkStarted:
    return await _bulk(session, member, BulkAction.verify, request)


@router.get("/bulk/{operation_id}", response_model=BulkRead)
async def get_bulk(
    operation_id: uuid.UUID, session: SessionDep, workspace: WorkspaceDep
) -> BulkRead:
    return BulkRead.model_validate(await bulk.get(session, workspace.id, operation_id))


@router.get("/{lead_id}", response_model=LeadRead)
async def get_lead(lead_id: uuid.UUID, session: SessionDep, workspace: WorkspaceDep) -> LeadRead:
    return LeadRead.model_validate(await leads.get(session, workspace.id, lead_id))


@router.get("/{lead_id}/detail", response_model=LeadDetail)
async def lead_detail(
    lead_id: uuid.UUID, session: SessionDep, workspace: WorkspaceDep
) -> LeadDetail:
    """Every field with the provider that set it, the verification evidence, the score
    breakdown and the timeline (created, enriched, verified, scored, failed jobs)."""
    return await timeline.detail(session, await leads.get(session, workspace.id, lead_id))


@router.post("/{lead_id}/enrich", status_code=202, response_model=JobStarted)
async def enrich_lead(lead_id: uuid.UUID, session: SessionDep, member: MemberDep) -> JobStarted:
    """Run the workspace's waterfall for this lead again (cached answers cost nothing); 402
    `credit_budget_exhausted` when it would pay and the month's budget is used up."""
    job_id = await actions.request_enrich(session, member.workspace_id, lead_id)
    return JobStarted(lead_id=lead_id, job_id=job_id)


@router.post("/{lead_id}/verify", status_code=202, response_model=JobStarted)
async def verify_lead(lead_id: uuid.UUID, session: SessionDep, member: MemberDep) -> JobStarted:
    """Check the lead's email (syntax, MX, role, disposable, the workspace's verifier)."""
    job_id = await actions.request_verify(session, member.workspace_id, lead_id)
    return JobStarted(lead_id=lead_id, job_id=job_id)

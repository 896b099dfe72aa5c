from __future__ import annotations

import uuid

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth.principal import CurrentMember
from leadflood.enrichment import config as enrichment_settings
from leadflood.enrichment import credits
from leadflood.enrichment import service as actions
from leadflood.enrichment.config import EnrichmentConfig
from leadflood.enrichment.schemas import (
    CreditUsage,
    EnrichmentSettingsRead,
    EnrichmentSettingsUpdate,
    JobStarted,
)
from leadflood.leads.fields import ENRICHABLE
from leadflood.leads.schemas import BulkRequest, BulkStarted
from leadflood.models import BulkAction
from leadflood.providers.registry import ENRICHERS, VERIFIERS
from leadflood.runtime import Runtime
from leadflood.web.deps import AdminDep, MemberDep, RuntimeDep, SessionDep, ViewerDep
from leadflood.web.idempotency import Idempotent

router = APIRouter(prefix="/v1/settings/enrichment", tags=["settings"])
# Enrichment and verification of leads, under the leads' own paths.
leads_router = APIRouter(prefix="/v1/leads", tags=["leads"])


async def _read(
    session: AsyncSession, runtime: Runtime, member: CurrentMember, config: EnrichmentConfig
) -> EnrichmentSettingsRead:
    configured = await enrichment_settings.configured(
        session, runtime.providers, member.workspace_id
    )
    return EnrichmentSettingsRead(
        waterfall=config.waterfall,
        wanted_fields=config.wanted_fields,
        monthly_budget=config.monthly_budget,
        verifier=config.verifier,
        available_enrichers=list(ENRICHERS),
        available_verifiers=[*VERIFIERS, enrichment_settings.NO_VERIFIER],
        enrichable_fields=list(ENRICHABLE),
        configured_providers=configured,
    )


@router.get("", response_model=EnrichmentSettingsRead)
async def get_settings(
    session: SessionDep, runtime: RuntimeDep, member: AdminDep
) -> EnrichmentSettingsRead:
    """The workspace's choices, and which providers can run for it (`configured_providers`:
    a key under Settings → Credentials or a process-wide one)."""
    config = await enrichment_settings.load(session, member.workspace_id)
    return await _read(session, runtime, member, config)


@router.put("", response_model=EnrichmentSettingsRead)
async def put_settings(
    data: EnrichmentSettingsUpdate, session: SessionDep, runtime: RuntimeDep, member: AdminDep
) -> EnrichmentSettingsRead:
    """Change the waterfall's order, the wanted fields, the monthly budget (null: unlimited)
    or the verifier; fields left out keep their value."""
    config = await enrichment_settings.update(session, member.workspace_id, data, by=member)
    return await _read(session, runtime, member, config)


@router.get("/usage", response_model=CreditUsage)
async def usage(session: SessionDep, member: ViewerDep) -> CreditUsage:
    """Credits spent this calendar month (UTC) by enrichment and verification."""
    used = await credits.used_this_month(session, member.workspace_id)
    budget = await credits.budget_of(session, member.workspace_id)
    return CreditUsage(
        month_start=credits.month_start(),
        used=used,
        budget=budget,
        remaining=None if budget is None else max(budget - used, 0),
    )


async def _bulk(
    session: SessionDep, member: MemberDep, action: BulkAction, request: BulkRequest
) -> BulkStarted:
    operation = await actions.start_bulk(
        session,
        member.workspace_id,
        action,
        request,
        user_id=member.user.id if member.user else None,
    )
    assert operation.job_id is not None
    return BulkStarted(operation_id=operation.id, job_id=operation.job_id)


@leads_router.post(
    "/bulk/enrich", status_code=202, response_model=BulkStarted, dependencies=[Idempotent]
)
async def bulk_enrich(request: BulkRequest, session: SessionDep, member: MemberDep) -> BulkStarted:
    """Enrich the leads picked, every lead matching a filter, or a search run's leads."""
    return await _bulk(session, member, BulkAction.enrich, request)


@leads_router.post(
    "/bulk/verify", status_code=202, response_model=BulkStarted, dependencies=[Idempotent]
)
async def bulk_verify(request: BulkRequest, session: SessionDep, member: MemberDep) -> BulkStarted:
    return await _bulk(session, member, BulkAction.verify, request)


@leads_router.post(
    "/{lead_id}/enrich", status_code=202, response_model=JobStarted, dependencies=[Idempotent]
)
async def enrich_lead(lead_id: uuid.UUID, session: SessionDep, member: MemberDep) -> JobStarted:
    """Run the workspace's waterfall for this lead again (cached answers cost nothing); 402
    `credit_budget_exhausted` when it would pay and the month's budget is used up."""
    job_id = await actions.request_enrich(session, member.workspace_id, lead_id)
    return JobStarted(lead_id=lead_id, job_id=job_id)


@leads_router.post(
    "/{lead_id}/verify", status_code=202, response_model=JobStarted, dependencies=[Idempotent]
)
async def verify_lead(lead_id: uuid.UUID, session: SessionDep, member: MemberDep) -> JobStarted:
    """Check the lead's email (syntax, MX, role, disposable, the workspace's verifier)."""
    job_id = await actions.request_verify(session, member.workspace_id, lead_id)
    return JobStarted(lead_id=lead_id, job_id=job_id)


def routers() -> list[APIRouter]:
    """This feature's API routers, in the order they are matched; its paths under the leads'
    come before the leads' own (`/v1/leads/bulk/enrich` is not `/v1/leads/{lead_id}/enrich`)."""
    return [leads_router, router]

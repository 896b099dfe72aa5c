"""Asking for one lead's enrichment or verification: checks, then a job in this transaction."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import jobs
from leadflood.enrichment import config as enrichment_settings
from leadflood.enrichment import credits, waterfall
from leadflood.enrichment.verification import VERIFY_TASK
from leadflood.errors import Conflict
from leadflood.leads import bulk
from leadflood.leads import service as leads
from leadflood.leads.fields import ENRICHABLE
from leadflood.leads.schemas import BulkRequest
from leadflood.models import BulkAction, BulkOperation, Lead
from leadflood.providers.base import Enricher


class NoEmailToVerify(Conflict):
    code = "lead_has_no_email"
    message = "This lead has no email to verify yet: enrich it first to find one."


async def ensure_budget_for_waterfall(session: AsyncSession, workspace_id: uuid.UUID) -> None:
    """Refuse now (402) when the waterfall would pay and the month's budget is used up."""
    config = await enrichment_settings.load(session, workspace_id)
    if any(credits.PRICES.get(name, 1) > 0 for name in config.waterfall):
        await credits.ensure_can_spend(session, workspace_id)


async def request_enrich(session: AsyncSession, workspace_id: uuid.UUID, lead_id: uuid.UUID) -> int:
    lead = await leads.get(session, workspace_id, lead_id)
    await ensure_budget_for_waterfall(session, workspace_id)
    return await jobs.defer(
        session,
        leads.ENRICH_TASK,
        workspace_id=workspace_id,
        subject_type="lead",
        subject_id=lead.id,
        lead_id=str(lead.id),
        force=True,
    )


async def request_verify(session: AsyncSession, workspace_id: uuid.UUID, lead_id: uuid.UUID) -> int:
    lead = await leads.get(session, workspace_id, lead_id)
    if not lead.email:
        raise NoEmailToVerify()
    return await jobs.defer(
        session,
        VERIFY_TASK,
        workspace_id=workspace_id,
        subject_type="lead",
        subject_id=lead.id,
        lead_id=str(lead.id),
    )


async def start_bulk(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    action: BulkAction,
    request: BulkRequest,
    *,
    user_id: uuid.UUID | None = None,
) -> BulkOperation:
    """Enrich or verify a selection of leads in the background (402 first when enriching would
    pay and the month's budget is used up)."""
    if action == BulkAction.enrich:
        await ensure_budget_for_waterfall(session, workspace_id)
    return await bulk.start(session, workspace_id, action, request, user_id=user_id)


async def enrich_with(session: AsyncSession, lead_id: uuid.UUID, enricher: Enricher) -> Lead | None:
    """Enrich one lead with one enricher (idempotent: an enriched lead is left as it is).
    Provider errors propagate; the waterfall over a workspace's enrichers is
    `waterfall.enrich_lead`."""
    outcome = await waterfall.enrich_lead(session, lead_id, [enricher], wanted=ENRICHABLE)
    error = waterfall.failure_of(outcome)
    if error is not None:
        raise error
    return outcome.lead

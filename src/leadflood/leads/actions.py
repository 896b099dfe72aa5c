"""Asking for one lead's enrichment or verification: checks, then a job in this transaction."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import jobs
from leadflood.errors import Conflict
from leadflood.leads import credits, enrichment_settings
from leadflood.leads import service as leads
from leadflood.leads.verifying import VERIFY_TASK


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

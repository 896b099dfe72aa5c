from __future__ import annotations

import uuid

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import jobs
from leadflood.db.scope import get_scoped, scoped
from leadflood.errors import Conflict, NotFound
from leadflood.leads.schemas import LeadCreate
from leadflood.models import Lead, LeadStatus

ENRICH_TASK = "leads.enrich"


class LeadNotFound(NotFound):
    code = "lead_not_found"
    message = "No lead with this id in this workspace."


class LeadExists(Conflict):
    code = "lead_exists"
    message = "A lead with this email already exists in this workspace."


async def create(
    session: AsyncSession, workspace_id: uuid.UUID, data: LeadCreate
) -> tuple[Lead, int]:
    """Store a new lead and defer its enrichment in the same transaction."""
    taken = await session.scalar(
        scoped(Lead, workspace_id)
        .where(func.lower(Lead.email) == data.email.lower())
        .with_only_columns(Lead.id)
    )
    if taken is not None:
        raise LeadExists(details={"lead_id": str(taken)})
    values = data.model_dump(mode="json")
    lead = Lead(workspace_id=workspace_id, status=LeadStatus.new, source="manual", **values)
    session.add(lead)
    await session.flush()
    job_id = await jobs.defer(
        session,
        ENRICH_TASK,
        workspace_id=workspace_id,
        subject_type="lead",
        subject_id=lead.id,
        lead_id=str(lead.id),
    )
    return lead, job_id


async def get(session: AsyncSession, workspace_id: uuid.UUID, lead_id: uuid.UUID) -> Lead:
    return await get_scoped(session, Lead, workspace_id, lead_id, error=LeadNotFound)


async def statuses(
    session: AsyncSession, workspace_id: uuid.UUID, lead_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Lead]:
    rows = await session.scalars(scoped(Lead, workspace_id).where(Lead.id.in_(lead_ids)))
    return {lead.id: lead for lead in rows}


async def mark_failed(session: AsyncSession, lead_id: uuid.UUID, error: str) -> None:
    lead = await session.get(Lead, lead_id, with_for_update=True)
    if lead is not None and lead.status != LeadStatus.enriched:
        lead.status = LeadStatus.failed
        lead.error = error

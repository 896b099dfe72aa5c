from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import jobs
from leadflood.db.scope import get_scoped, scoped
from leadflood.errors import Conflict, NotFound
from leadflood.leads.countries import country_code
from leadflood.leads.schemas import LeadCreate
from leadflood.models import Lead, LeadStatus
from leadflood.pagination import newest_first, page_of
from leadflood.providers.base import Enricher, EnrichmentInput

ENRICH_TASK = "leads.enrich"
# Columns an enricher may fill; it never overwrites what a user or an import already set.
ENRICHABLE = (
    "first_name",
    "last_name",
    "title",
    "seniority",
    "department",
    "phone",
    "linkedin_url",
    "company_name",
    "company_domain",
    "company_industry",
    "company_size",
    "city",
    "country",
    "timezone",
)


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


async def list_page(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    limit: int,
    cursor: str | None = None,
    status: LeadStatus | None = None,
    search: str | None = None,
) -> tuple[list[Lead], str | None]:
    query = scoped(Lead, workspace_id)
    if status is not None:
        query = query.where(Lead.status == status)
    if search:
        pattern = f"%{search.strip()}%"
        query = query.where(
            or_(
                Lead.email.ilike(pattern),
                (
                    func.coalesce(Lead.first_name, "") + " " + func.coalesce(Lead.last_name, "")
                ).ilike(pattern),
                Lead.company_name.ilike(pattern),
            )
        )
    query = newest_first(query, Lead.created_at, Lead.id, cursor=cursor, limit=limit)
    rows = list((await session.scalars(query)).all())
    return page_of(rows, limit)


async def statuses(
    session: AsyncSession, workspace_id: uuid.UUID, lead_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Lead]:
    rows = await session.scalars(scoped(Lead, workspace_id).where(Lead.id.in_(lead_ids)))
    return {lead.id: lead for lead in rows}


async def enrich(session: AsyncSession, lead_id: uuid.UUID, enricher: Enricher) -> Lead | None:
    """Enrich one lead (idempotent: an enriched lead is left as it is). Provider errors propagate
    so the job can retry; the caller decides when a failure is final."""
    lead = await session.get(Lead, lead_id, with_for_update=True)
    if lead is None or lead.status == LeadStatus.enriched:
        return lead
    lead.status = LeadStatus.enriching
    person = EnrichmentInput(
        email=lead.email,
        first_name=lead.first_name,
        last_name=lead.last_name,
        company_name=lead.company_name,
        company_domain=lead.company_domain,
        linkedin_url=lead.linkedin_url,
    )
    result = await enricher.enrich(person)
    apply_fields(lead, result.fields)
    lead.status = LeadStatus.enriched
    lead.error = None
    lead.enriched_at = datetime.now(UTC)
    return lead


def apply_fields(lead: Lead, fields: dict[str, Any]) -> list[str]:
    changed = []
    for name in ENRICHABLE:
        value = fields.get(name)
        if name == "country" and isinstance(value, str):
            value = country_code(value) or value  # providers give names; we keep ISO codes
        if value not in (None, "") and getattr(lead, name) in (None, ""):
            setattr(lead, name, value)
            changed.append(name)
    return changed


async def mark_failed(session: AsyncSession, lead_id: uuid.UUID, error: str) -> None:
    lead = await session.get(Lead, lead_id, with_for_update=True)
    if lead is not None and lead.status != LeadStatus.enriched:
        lead.status = LeadStatus.failed
        lead.error = error


async def count_by_status(session: AsyncSession, workspace_id: uuid.UUID) -> dict[str, int]:
    rows = await session.execute(
        select(Lead.status, func.count())
        .where(Lead.workspace_id == workspace_id)
        .group_by(Lead.status)
    )
    return {str(status): count for status, count in rows.tuples()}

"""Companies: the employers of a workspace's leads, listed with their lead counts, each with
its people and where they stand in sequences; name, domain, size and industry editable."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import audit
from leadflood.auth.principal import CurrentMember
from leadflood.companies.errors import CompanyExists, CompanyNotFound
from leadflood.companies.schemas import CompanyDetail, CompanyPerson, CompanyRead, CompanyUpdate
from leadflood.db.scope import get_scoped, in_workspace, scoped
from leadflood.models import Company, Enrollment, Lead, Sequence
from leadflood.pagination import Window, newest_first, page_of

PEOPLE_LIMIT = 500


def _of_company(company: Company) -> Any:
    """The leads of a company: linked to it, or at its domain without a link."""
    return or_(
        Lead.company_id == company.id,
        (Lead.company_id.is_(None)) & (func.lower(Lead.company_domain) == company.domain.lower()),
    )


def _search(query: Select[Any], q: str | None) -> Select[Any]:
    if not q or not q.strip():
        return query
    pattern = "%" + q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return query.where(or_(Company.name.ilike(pattern), Company.domain.ilike(pattern)))


async def _lead_counts(
    session: AsyncSession, workspace_id: uuid.UUID, companies: list[Company]
) -> dict[uuid.UUID, int]:
    if not companies:
        return {}
    by_domain = {c.domain.lower(): c.id for c in companies}
    linked = await session.execute(
        select(Lead.company_id, func.count())
        .where(in_workspace(Lead, workspace_id), Lead.company_id.in_([c.id for c in companies]))
        .group_by(Lead.company_id)
    )
    counts: dict[uuid.UUID, int] = {cid: n for cid, n in linked if cid is not None}
    unlinked = await session.execute(
        select(func.lower(Lead.company_domain), func.count())
        .where(
            in_workspace(Lead, workspace_id),
            Lead.company_id.is_(None),
            func.lower(Lead.company_domain).in_(list(by_domain)),
        )
        .group_by(func.lower(Lead.company_domain))
    )
    for domain, n in unlinked:
        counts[by_domain[domain]] = counts.get(by_domain[domain], 0) + n
    return counts


def read(company: Company, count: int = 0) -> CompanyRead:
    return CompanyRead.model_validate(company).model_copy(update={"lead_count": count})


async def list_page(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    q: str | None = None,
    limit: int,
    cursor: str | None = None,
) -> Window[CompanyRead]:
    query = newest_first(
        _search(scoped(Company, workspace_id), q),
        Company.created_at,
        Company.id,
        cursor=cursor,
        limit=limit,
    )
    page = page_of(list((await session.scalars(query)).all()), limit, cursor)
    counts = await _lead_counts(session, workspace_id, page.items)
    return Window(
        [read(c, counts.get(c.id, 0)) for c in page.items],
        next_cursor=page.next_cursor,
        prev_cursor=page.prev_cursor,
    )


async def get(session: AsyncSession, workspace_id: uuid.UUID, company_id: uuid.UUID) -> Company:
    return await get_scoped(session, Company, workspace_id, company_id, error=CompanyNotFound)


async def detail(
    session: AsyncSession, workspace_id: uuid.UUID, company_id: uuid.UUID
) -> CompanyDetail:
    company = await get(session, workspace_id, company_id)
    leads = list(
        (
            await session.scalars(
                scoped(Lead, workspace_id)
                .where(_of_company(company))
                .order_by(Lead.score.desc().nulls_last(), Lead.id)
                .limit(PEOPLE_LIMIT)
            )
        ).all()
    )
    states: dict[uuid.UUID, dict[str, str]] = {lead.id: {} for lead in leads}
    if leads:
        rows = await session.execute(
            select(Enrollment.lead_id, Sequence.name, Enrollment.state)
            .join(Sequence, Sequence.id == Enrollment.sequence_id)
            .where(
                in_workspace(Enrollment, workspace_id),
                Enrollment.lead_id.in_(list(states)),
            )
            .order_by(Sequence.name)
        )
        for lead_id, name, state in rows:
            states[lead_id][name] = getattr(state, "value", str(state))
    people = [
        CompanyPerson.model_validate(
            {
                "id": lead.id,
                "email": lead.email,
                "first_name": lead.first_name,
                "last_name": lead.last_name,
                "title": lead.title,
                "score": lead.score,
                "status": getattr(lead.status, "value", str(lead.status)),
                "enrollments": states[lead.id],
            }
        )
        for lead in leads
    ]
    count = (await _lead_counts(session, workspace_id, [company])).get(company.id, 0)
    base = read(company, count).model_dump()
    return CompanyDetail.model_validate({**base, "people": people})


async def update(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    company_id: uuid.UUID,
    data: CompanyUpdate,
    *,
    by: CurrentMember | None = None,
) -> Company:
    """Change the given fields; a domain another company has is refused (409
    `company_exists`). Audited with each field's old and new value."""
    company = await get_scoped(
        session, Company, workspace_id, company_id, error=CompanyNotFound, for_update=True
    )
    wanted = data.model_dump(exclude_unset=True)
    if "domain" in wanted and wanted["domain"] is None:
        wanted.pop("domain")
    changed = {
        name: (getattr(company, name), value)
        for name, value in wanted.items()
        if getattr(company, name) != value
    }
    if not changed:
        return company
    for name, (_, new) in changed.items():
        setattr(company, name, new)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise CompanyExists(details={"field": "domain"}) from None
    await session.refresh(company)
    await audit.record(
        session,
        "company.updated",
        actor=by,
        workspace_id=workspace_id,
        target_type="company",
        target_id=company.id,
        details={"changes": {k: {"from": a, "to": b} for k, (a, b) in changed.items()}},
    )
    return company

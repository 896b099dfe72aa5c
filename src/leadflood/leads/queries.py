"""The leads list: filters, keyset pagination on (created_at, id) or (score, id), and counts
that stay cheap at a million rows. Each filter and sort has an index (docs/performance.md,
"Leads list")."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import Select, func, literal, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import jobs
from leadflood.db.scope import scoped
from leadflood.leads.enrichment_schemas import LeadFilter, LeadSort
from leadflood.models import Lead, LeadCounts, LeadStatus
from leadflood.pagination import InvalidCursor

COUNT_CAP = 10_000
COUNTS_TASK = "leads.refresh_counts"
COUNTS_MAX_AGE = timedelta(minutes=5)


def filtered(query: Select[Any], where: LeadFilter) -> Select[Any]:
    if where.status is not None:
        query = query.where(Lead.status == where.status)
    if where.verification is not None:
        query = query.where(Lead.verification_status == where.verification)
    if where.score_min is not None:
        query = query.where(Lead.score >= where.score_min)
    if where.score_max is not None:
        query = query.where(Lead.score <= where.score_max)
    if where.icp_id is not None:
        query = query.where(Lead.icp_id == where.icp_id)
    if where.company_domain:
        domain = where.company_domain.strip().lower().removeprefix("www.")
        query = query.where(func.lower(Lead.company_domain) == domain)
    if where.q and where.q.strip():
        # A contains-search has no index without pg_trgm: it is a scan bounded by the page size
        # (and the other filters), which the docs say.
        pattern = f"%{where.q.strip()}%"
        query = query.where(
            or_(
                Lead.email.ilike(pattern),
                (
                    func.coalesce(Lead.first_name, "") + " " + func.coalesce(Lead.last_name, "")
                ).ilike(pattern),
                Lead.company_name.ilike(pattern),
            )
        )
    return query


def _encode(parts: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def _decode(cursor: str, kind: str) -> list[Any]:
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(parts, list) or parts[0] != kind:
            raise ValueError(kind)
        parts[-1] = uuid.UUID(parts[-1])
        return parts
    except (ValueError, TypeError, IndexError) as exc:
        raise InvalidCursor() from exc


async def list_page(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    where: LeadFilter,
    *,
    sort: LeadSort = "newest",
    limit: int,
    cursor: str | None = None,
) -> tuple[list[Lead], str | None]:
    base = filtered(scoped(Lead, workspace_id), where)
    if sort in ("newest", "oldest"):
        return await _by_created(session, base, desc=sort == "newest", limit=limit, cursor=cursor)
    return await _by_score(session, base, desc=sort == "score", limit=limit, cursor=cursor)


async def _by_created(
    session: AsyncSession, query: Select[Any], *, desc: bool, limit: int, cursor: str | None
) -> tuple[list[Lead], str | None]:
    key = tuple_(Lead.created_at, Lead.id)
    if cursor:
        _, created, row_id = _decode(cursor, "c")
        after = tuple_(literal(datetime.fromisoformat(created)), literal(row_id))
        query = query.where(key < after if desc else key > after)
    order = (Lead.created_at.desc(), Lead.id.desc()) if desc else (Lead.created_at, Lead.id)
    rows = list((await session.scalars(query.order_by(*order).limit(limit + 1))).all())
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], _encode(["c", last.created_at.isoformat(), str(last.id)])


async def _by_score(
    session: AsyncSession, query: Select[Any], *, desc: bool, limit: int, cursor: str | None
) -> tuple[list[Lead], str | None]:
    """Scored leads first (by score), then the unscored ones (by id): two range scans of the
    (workspace_id, score, id) index, so NULLs never break the keyset."""
    score: int | None = None
    after: uuid.UUID | None = None
    if cursor:
        _, score, after = _decode(cursor, "s")
    rows: list[Lead] = []
    if not cursor or score is not None:
        scored = query.where(Lead.score.is_not(None))
        if cursor:
            key, bound = tuple_(Lead.score, Lead.id), tuple_(literal(score), literal(after))
            scored = scored.where(key < bound if desc else key > bound)
        order = (Lead.score.desc(), Lead.id.desc()) if desc else (Lead.score, Lead.id)
        rows = list((await session.scalars(scored.order_by(*order).limit(limit + 1))).all())
        after = None
    if len(rows) <= limit:
        unscored = query.where(Lead.score.is_(None))
        if after is not None:
            unscored = unscored.where(Lead.id < after if desc else Lead.id > after)
        order_id = Lead.id.desc() if desc else Lead.id
        more = limit + 1 - len(rows)
        rows += list((await session.scalars(unscored.order_by(order_id).limit(more))).all())
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], _encode(["s", last.score, str(last.id)])


async def ids_matching(
    session: AsyncSession, workspace_id: uuid.UUID, where: LeadFilter, *, after: uuid.UUID | None,
    limit: int,
) -> list[uuid.UUID]:  # fmt: skip
    """A page of the ids matching `where`, in id order (for bulk work over a filter)."""
    query = filtered(select(Lead.id).where(Lead.workspace_id == workspace_id), where)
    if after is not None:
        query = query.where(Lead.id > after)
    return list((await session.scalars(query.order_by(Lead.id).limit(limit))).all())


async def status_counts(session: AsyncSession, workspace_id: uuid.UUID) -> dict[str, Any]:
    """Leads per status without counting a million rows per page view: each status is counted
    up to COUNT_CAP (an index-only range scan); a status above the cap shows the exact count
    computed in the background (refreshed when older than COUNTS_MAX_AGE) or "10,000+"."""
    capped_at = COUNT_CAP + 1
    counts: dict[str, int] = {}
    for status in LeadStatus:
        inner = (
            select(literal(1))
            .where(Lead.workspace_id == workspace_id, Lead.status == status)
            .limit(capped_at)
            .subquery()
        )
        counts[status.value] = int(
            await session.scalar(select(func.count()).select_from(inner)) or 0
        )
    big = [name for name, count in counts.items() if count >= capped_at]
    exact = True
    if big:
        cached = await session.get(LeadCounts, workspace_id)
        fresh = cached is not None and datetime.now(UTC) - cached.computed_at < COUNTS_MAX_AGE
        if cached is not None:
            for name in big:
                counts[name] = max(int(cached.counts.get(name, 0)), counts[name])
        if not fresh:
            await _schedule_refresh(session, workspace_id)
        exact = cached is not None
    return {"counts": counts, "total": sum(counts.values()), "exact": exact, "capped": big}


async def _schedule_refresh(session: AsyncSession, workspace_id: uuid.UUID) -> None:
    try:
        async with session.begin_nested():
            await jobs.defer(
                session,
                COUNTS_TASK,
                workspace_id=workspace_id,
                subject_type="workspace",
                subject_id=workspace_id,
                queueing_lock=f"lead-counts:{workspace_id}",
                workspace=str(workspace_id),
            )
    except AlreadyEnqueued:
        pass  # a refresh is already waiting


async def refresh_counts(session: AsyncSession, workspace_id: uuid.UUID) -> dict[str, int]:
    rows = await session.execute(
        select(Lead.status, func.count())
        .where(Lead.workspace_id == workspace_id)
        .group_by(Lead.status)
    )
    counts = {str(status): int(count) for status, count in rows}
    now = datetime.now(UTC)
    await session.execute(
        insert(LeadCounts)
        .values(workspace_id=workspace_id, counts=counts, computed_at=now)
        .on_conflict_do_update(
            index_elements=[LeadCounts.workspace_id], set_={"counts": counts, "computed_at": now}
        )
    )
    return counts

"""The leads list: filters, keyset pagination on (created_at, id) or (score, id), and counts
that stay cheap at a million rows. Each filter and sort has an index (docs/performance.md,
"Leads list")."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    and_,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import TSQUERY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from leadflood import jobs
from leadflood.db.scope import in_workspace, scoped
from leadflood.leads.schemas import LeadFilter, LeadSort
from leadflood.models import (
    Lead,
    LeadCounts,
    LeadListMember,
    LeadNote,
    LeadStatus,
    SearchOutcome,
    SearchResult,
)
from leadflood.models.lead import search_document
from leadflood.pagination import CursorOf, InvalidCursor, Window, decode_parts, encode_parts, window

COUNT_CAP = 10_000
COUNTS_TASK = "leads.refresh_counts"
COUNTS_MAX_AGE = timedelta(minutes=5)


def conditions(where: LeadFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if where.status is not None:
        found.append(Lead.status == where.status)
    if where.verification:
        found.append(Lead.verification_status.in_(where.verification))
    if where.score_min is not None:
        found.append(Lead.score >= where.score_min)
    if where.score_max is not None:
        found.append(Lead.score <= where.score_max)
    if where.icp_id is not None:
        found.append(Lead.icp_id == where.icp_id)
    if where.company_id is not None:
        found.append(Lead.company_id == where.company_id)
    if where.company_domain:
        domain = where.company_domain.strip().lower().removeprefix("www.")
        found.append(func.lower(Lead.company_domain) == domain)
    if where.list_id is not None:
        found.append(
            exists().where(
                LeadListMember.list_id == where.list_id, LeadListMember.lead_id == Lead.id
            )
        )
    if where.tag:
        found.append(Lead.tags.contains([where.tag]))  # `@>`: the GIN index on tags
    if where.owner_id is not None:
        found.append(Lead.owner_id == where.owner_id)
    if where.has_notes is not None:
        noted = exists().where(LeadNote.lead_id == Lead.id)
        found.append(noted if where.has_notes else ~noted)
    if where.q and (searched := search_condition(where.q)) is not None:
        found.append(searched)
    return found


def search_condition(q: str) -> ColumnElement[bool] | None:
    """The leads search (`q`): every word of `q` starts a word of the name, company or title,
    the email's or the company's domain (`ix_leads_search`, one tsquery: the GIN index
    intersects the words itself); a one-word search may also start the email
    (`ix_leads_workspace_email_prefix`). Case-insensitive; "@acme.io" asks for the domain. None
    when `q` has no word. Words are literal lexemes and the email's start a literal range,
    never parsed: "o'brien" or "a_b%" are searched as typed."""
    words = [(word, word.lstrip("@")) for word in q.lower().split() if word.lstrip("@")]
    if not words:
        return None
    terms = " & ".join(
        "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "':*" for _, lexeme in words
    )
    matched = search_document().op("@@")(cast(literal(terms, Text), TSQUERY))
    if len(words) > 1:
        return matched
    # The email's start as the range the text_pattern_ops index reads, not as LIKE: PostgreSQL
    # turns a LIKE into that range for the index, then, no longer finding the LIKE among the
    # index conditions, evaluates the whole OR again on every row fetched, recomputing the
    # search document (twice the time for a term matching 1% of a million leads).
    word = words[0][0]
    email = func.lower(Lead.email)
    starts: ColumnElement[bool] = email.op("~>=~")(literal(word, Text))
    if (after := _after_prefix(word)) is not None:
        starts = and_(starts, email.op("~<~")(literal(after, Text)))
    return or_(matched, starts)


def _after_prefix(prefix: str) -> str | None:
    """The least string greater than every string that starts with `prefix`, in the byte order
    of UTF-8 (which is code point order): its last character raised by one. None when no
    character can be raised (every string from `prefix` on starts with it or is greater)."""
    while prefix:
        last = ord(prefix[-1]) + 1
        if last == 0xD800:  # surrogates are not characters
            last = 0xE000
        if last <= 0x10FFFF:
            return prefix[:-1] + chr(last)
        prefix = prefix[:-1]
    return None


def filter_condition(workspace_id: uuid.UUID, where: LeadFilter) -> ColumnElement[bool]:
    """The leads of this workspace that `where` selects."""
    return and_(in_workspace(Lead, workspace_id), *conditions(where))


def filtered(query: Select[Any], where: LeadFilter) -> Select[Any]:
    found = conditions(where)
    return query.where(*found) if found else query


def leads_of_run(workspace_id: uuid.UUID, run_id: uuid.UUID) -> Select[Any]:
    """The leads of a search run: those it created or updated (not the ones it found already
    in the workspace, nor its rejected results)."""
    return select(SearchResult.lead_id).where(
        in_workspace(SearchResult, workspace_id),
        SearchResult.run_id == run_id,
        SearchResult.outcome.in_([SearchOutcome.created, SearchOutcome.updated]),
        SearchResult.lead_id.is_not(None),
    )


def _encode(parts: list[Any], before: bool) -> str:
    return encode_parts(parts, before=before)


def _decode(cursor: str, kind: str) -> tuple[list[Any], bool]:
    """The cursor's key values (the row id last, as a UUID) and whether it points backwards."""
    parts, before = decode_parts(cursor)
    try:
        if parts[0] != kind:
            raise ValueError(kind)
        values = parts[1:]
        if len(values) != 2:
            raise ValueError(parts)
        values[-1] = uuid.UUID(values[-1])
        if kind == "c":
            values[0] = datetime.fromisoformat(values[0])
        elif values[0] is not None and type(values[0]) is not int:
            raise ValueError(values[0])
        return values, before
    except (ValueError, TypeError, IndexError, AttributeError) as exc:
        raise InvalidCursor() from exc


# A part of the list order: the rows a filter selects, sorted on `columns` (the id last).
Segment = tuple[Select[Any], tuple[InstrumentedAttribute[Any], ...]]


async def list_page(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    where: LeadFilter,
    *,
    sort: LeadSort = "newest",
    limit: int,
    cursor: str | None = None,
) -> Window[Lead]:
    base = filtered(scoped(Lead, workspace_id), where)
    if sort in ("newest", "oldest"):
        values, before = _decode(cursor, "c") if cursor else ([], False)
        segments: list[Segment] = [(base, (Lead.created_at, Lead.id))]
        return await _keyset(
            session, segments, desc=sort == "newest", limit=limit, cursor=cursor,
            start=0, bound=values, before=before, encode=_created_cursor,
        )  # fmt: skip
    # Scored leads first (by score), then the unscored ones (by id): two range scans of the
    # (workspace_id, score, id) index, so NULLs never break the keyset.
    values, before = _decode(cursor, "s") if cursor else ([], False)
    unscored = bool(values) and values[0] is None
    segments = [
        (base.where(Lead.score.is_not(None)), (Lead.score, Lead.id)),
        (base.where(Lead.score.is_(None)), (Lead.id,)),
    ]
    return await _keyset(
        session, segments, desc=sort == "score", limit=limit, cursor=cursor,
        start=1 if unscored else 0, bound=values[1:] if unscored else values, before=before,
        encode=_score_cursor,
    )  # fmt: skip


def _created_cursor(lead: Lead, before: bool) -> str:
    return _encode(["c", lead.created_at.isoformat(), str(lead.id)], before)


def _score_cursor(lead: Lead, before: bool) -> str:
    return _encode(["s", lead.score, str(lead.id)], before)


async def _keyset(
    session: AsyncSession,
    segments: list[Segment],
    *,
    desc: bool,
    limit: int,
    cursor: str | None,
    start: int,
    bound: list[Any],
    before: bool,
    encode: CursorOf,
) -> Window[Lead]:
    """The page after the row keyed `bound` in segment `start` (the first page without a
    cursor), or the page before it: the segments walked backwards in the opposite order."""
    walk = segments[start::-1] if before else segments[start:]
    descending = desc != before
    rows: list[Lead] = []
    for index, (query, columns) in enumerate(walk):
        if index == 0 and bound:
            key, at = tuple_(*columns), tuple_(*(literal(value) for value in bound))
            query = query.where(key < at if descending else key > at)
        order = [column.desc() if descending else column for column in columns]
        wanted = limit + 1 - len(rows)
        rows += (await session.scalars(query.order_by(*order).limit(wanted))).all()
        if len(rows) > limit:
            break
    return window(rows, limit, cursor=cursor, before=before, encode=encode)


async def ids_matching(
    session: AsyncSession, workspace_id: uuid.UUID, where: LeadFilter, *, after: uuid.UUID | None,
    limit: int,
) -> list[uuid.UUID]:  # fmt: skip
    """A page of the ids matching `where`, in id order (for bulk work over a filter)."""
    query = filtered(select(Lead.id).where(in_workspace(Lead, workspace_id)), where)
    if after is not None:
        query = query.where(Lead.id > after)
    return list((await session.scalars(query.order_by(Lead.id).limit(limit))).all())


async def count_matching(
    session: AsyncSession, workspace_id: uuid.UUID, where: LeadFilter, *, cap: int = COUNT_CAP
) -> int:
    """How many leads `where` selects, counted up to `cap` + 1 (more means "cap+")."""
    inner = (
        select(literal(1)).where(filter_condition(workspace_id, where)).limit(cap + 1).subquery()
    )
    return int(await session.scalar(select(func.count()).select_from(inner)) or 0)


async def status_counts(session: AsyncSession, workspace_id: uuid.UUID) -> dict[str, Any]:
    """Leads per status without counting a million rows per page view: each status is counted
    up to COUNT_CAP (an index-only range scan); a status above the cap shows the exact count
    computed in the background (refreshed when older than COUNTS_MAX_AGE) or "10,000+"."""
    capped_at = COUNT_CAP + 1
    counts: dict[str, int] = {}
    for status in LeadStatus:
        inner = (
            select(literal(1))
            .where(in_workspace(Lead, workspace_id), Lead.status == status)
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
        .where(in_workspace(Lead, workspace_id))
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

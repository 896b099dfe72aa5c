"""Enrolling leads, set-based: one query classifies every candidate (invalid, already in this
sequence, live in another), one asks the suppression list, one INSERT ... SELECT adds the rest.
Each skipped lead is counted under its first reason, in the order of SKIP_REASONS."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Uuid,
    and_,
    any_,
    bindparam,
    exists,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.db.scope import get_scoped, in_workspace, scoped
from leadflood.leads import queries as lead_queries
from leadflood.models import (
    Enrollment,
    EnrollmentState,
    Lead,
    SearchRun,
    SequenceState,
    VerificationStatus,
)
from leadflood.pagination import Window, newest_first, page_of
from leadflood.sequences import service as sequences
from leadflood.sequences.errors import (
    EnrollmentNotFound,
    InvalidEnrollSource,
    SequenceArchived,
    UnknownSource,
)
from leadflood.sequences.schemas import EnrollRequest, EnrollResult
from leadflood.suppressions import service as suppression

SKIP_REASONS = (
    "not_found", "already_enrolled", "suppressed", "invalid", "active_elsewhere",
    "below_min_score", "unverified_email",
)  # fmt: skip
LIVE = (EnrollmentState.active, EnrollmentState.paused)


async def _source(
    session: AsyncSession, workspace_id: uuid.UUID, request: EnrollRequest
) -> ColumnElement[bool]:
    given = [
        request.lead_ids is not None,
        request.filter is not None,
        request.search_run_id is not None,
    ]
    if sum(given) != 1:
        raise InvalidEnrollSource()
    if request.lead_ids is not None:
        # One array parameter: an IN list of 100,000 ids would exceed the protocol's limit.
        ids = bindparam("enroll_ids", value=list(request.lead_ids), type_=ARRAY(Uuid))
        return and_(in_workspace(Lead, workspace_id), Lead.id == any_(ids))
    if request.filter is not None:
        return lead_queries.filter_condition(workspace_id, request.filter)
    assert request.search_run_id is not None
    await get_scoped(session, SearchRun, workspace_id, request.search_run_id, error=UnknownSource)
    from_run = lead_queries.leads_of_run(workspace_id, request.search_run_id).scalar_subquery()
    return and_(in_workspace(Lead, workspace_id), Lead.id.in_(from_run))


async def enroll(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    sequence_id: uuid.UUID,
    request: EnrollRequest,
    *,
    now: datetime,
) -> EnrollResult:
    sequence = await sequences.get(session, workspace_id, sequence_id)
    if sequence.state == SequenceState.archived:
        raise SequenceArchived()
    condition = await _source(session, workspace_id, request)
    skip_elsewhere = bool(sequence.stop_rules.get("skip_if_active_elsewhere", True))
    already = exists().where(Enrollment.sequence_id == sequence.id, Enrollment.lead_id == Lead.id)
    elsewhere = exists().where(
        in_workspace(Enrollment, workspace_id),
        Enrollment.lead_id == Lead.id,
        Enrollment.sequence_id != sequence.id,
        Enrollment.state.in_(LIVE),
    )
    invalid = or_(
        Lead.email.is_(None),
        func.btrim(Lead.email) == "",
        Lead.verification_status == VerificationStatus.invalid,
    )
    # An unscored lead is below any minimum: a score it does not have cannot be trusted.
    low = (
        or_(Lead.score.is_(None), Lead.score < sequence.min_score)
        if sequence.min_score is not None
        else text("false")
    )
    unverified = (
        Lead.verification_status != VerificationStatus.valid
        if sequence.require_verified_email
        else text("false")
    )
    rows = (
        await session.execute(
            select(
                Lead.id,
                already,
                invalid,
                elsewhere if skip_elsewhere else text("false"),
                low,
                unverified,
            )
            .where(condition)
            .order_by(Lead.id)
        )
    ).all()
    skipped: Counter[str] = Counter()
    if request.lead_ids is not None:
        skipped["not_found"] = len(set(request.lead_ids)) - len(rows)
    open_ids = [row[0] for row in rows if not row[1]]
    skipped["already_enrolled"] = len(rows) - len(open_ids)
    suppressed = await suppression.suppressed_lead_ids(session, workspace_id, open_ids)
    wanted: list[uuid.UUID] = []
    for lead_id, is_already, is_invalid, is_elsewhere, is_low, is_unverified in rows:
        if is_already:
            continue
        if lead_id in suppressed:
            skipped["suppressed"] += 1
        elif is_invalid:
            skipped["invalid"] += 1
        elif is_elsewhere:
            skipped["active_elsewhere"] += 1
        elif is_low:
            skipped["below_min_score"] += 1
        elif is_unverified:
            skipped["unverified_email"] += 1
        else:
            wanted.append(lead_id)
    enrolled = await insert_enrollments(
        session,
        workspace_id,
        sequence.id,
        wanted,
        now=now,
        # Enrollments of a sequence that is not running wait (parked) until it is activated.
        run_at=now if sequence.state == SequenceState.active else None,
    )
    skipped["already_enrolled"] += len(wanted) - enrolled
    return EnrollResult(enrolled=enrolled, skipped={r: skipped.get(r, 0) for r in SKIP_REASONS})


async def insert_enrollments(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    sequence_id: uuid.UUID,
    lead_ids: list[uuid.UUID],
    *,
    now: datetime,
    run_at: datetime | None,
) -> int:
    if not lead_ids:
        return 0
    result = await session.execute(
        text(
            """
            INSERT INTO enrollments (id, workspace_id, sequence_id, lead_id, state, next_step,
                                     next_run_at, created_at, updated_at)
            SELECT gen_random_uuid(), :ws, :seq, lead_id, 'active', 1, :run_at, :now, :now
            FROM unnest(CAST(:ids AS uuid[])) AS t(lead_id)
            ON CONFLICT (sequence_id, lead_id) DO NOTHING
            """
        ),
        {"ws": workspace_id, "seq": sequence_id, "ids": lead_ids, "run_at": run_at, "now": now},
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def get(
    session: AsyncSession, workspace_id: uuid.UUID, enrollment_id: uuid.UUID
) -> Enrollment:
    return await get_scoped(
        session, Enrollment, workspace_id, enrollment_id, error=EnrollmentNotFound
    )


async def list_page(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    sequence_id: uuid.UUID,
    *,
    limit: int,
    cursor: str | None = None,
    state: EnrollmentState | None = None,
) -> Window[Enrollment]:
    await sequences.get(session, workspace_id, sequence_id)
    query = scoped(Enrollment, workspace_id).where(Enrollment.sequence_id == sequence_id)
    if state is not None:
        query = query.where(Enrollment.state == state)
    query = newest_first(query, Enrollment.created_at, Enrollment.id, cursor=cursor, limit=limit)
    return page_of(list((await session.scalars(query)).all()), limit, cursor)


def _ids_condition(workspace_id: uuid.UUID, ids: list[uuid.UUID]) -> ColumnElement[bool]:
    return and_(in_workspace(Enrollment, workspace_id), Enrollment.id.in_(ids))


async def pause(
    session: AsyncSession, workspace_id: uuid.UUID, ids: list[uuid.UUID], *, now: datetime
) -> int:
    """Pause active enrollments; their queued messages are withdrawn (planned again on resume)."""
    condition = and_(_ids_condition(workspace_id, ids), Enrollment.state == EnrollmentState.active)
    locked = list(
        (await session.scalars(select(Enrollment.id).where(condition).with_for_update())).all()
    )
    if not locked:
        return 0
    await sequences.withdraw_unsent(session, Enrollment.id.in_(locked), park=False)
    await session.execute(
        update(Enrollment)
        .where(Enrollment.id.in_(locked))
        .values(state=EnrollmentState.paused, next_run_at=None)
        .execution_options(synchronize_session=False)
    )
    return len(locked)


async def resume(
    session: AsyncSession, workspace_id: uuid.UUID, ids: list[uuid.UUID], *, now: datetime
) -> int:
    """Resume paused enrollments: the scheduler looks at them now (and plans their next step
    from the previous message, so the delays between steps still hold)."""
    result = await session.execute(
        text(
            """
            UPDATE enrollments AS e
            SET state = 'active',
                next_run_at = CASE WHEN s.state = 'active' THEN CAST(:now AS timestamptz) END,
                updated_at = now()
            FROM sequences AS s
            WHERE s.id = e.sequence_id AND e.workspace_id = :ws AND e.id = ANY(:ids)
              AND e.state = 'paused'
            """
        ),
        {"ws": workspace_id, "ids": ids, "now": now},
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def stop(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    ids: list[uuid.UUID],
    *,
    now: datetime,
    reason: str = "manual",
) -> int:
    return await sequences.stop_where(session, _ids_condition(workspace_id, ids), reason, now)


# The states each action changes; enrollments in other states are left as they are.
ACTION_SOURCES: dict[str, tuple[str, ...]] = {
    "pause": ("active",),
    "resume": ("paused",),
    "stop": ("active", "paused"),
}


async def act(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    action: str,
    ids: list[uuid.UUID],
    *,
    now: datetime,
) -> int:
    actions: dict[str, Any] = {"pause": pause, "resume": resume, "stop": stop}
    changed: int = await actions[action](session, workspace_id, ids, now=now)
    return changed

"""Sequences: create, edit, change state (steps: `steps.py`; enrollments: `enrollment.py`).
States: draft → active ⇄ paused, and any → archived (final). Enrollments of a sequence that is
not active are parked (`next_run_at` NULL, see the scheduler); activating or resuming unparks
them. Pausing withdraws the messages that have not started sending, so nothing leaves while the
sequence is paused and those steps are planned again on resume.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from leadflood.auth import audit
from leadflood.auth.principal import CurrentMember
from leadflood.db.scope import scoped
from leadflood.models import (
    Enrollment,
    EnrollmentState,
    Mailbox,
    MailboxState,
    Message,
    MessageStatus,
    Sequence,
    SequenceState,
    SequenceStep,
    sequence_mailboxes,
)
from leadflood.pagination import Window, newest_first, page_of
from leadflood.sequences.errors import (
    InvalidTransition,
    SequenceArchived,
    SequenceNotFound,
    SequenceNotReady,
    UnknownMailbox,
    cannot,
)
from leadflood.sequences.schemas import SequenceCreate, SequenceStats, SequenceUpdate
from leadflood.sequences.templating import TemplateError, validate_template
from leadflood.suppressions import stops

ALLOWED: dict[SequenceState, frozenset[SequenceState]] = {
    SequenceState.draft: frozenset({SequenceState.active, SequenceState.archived}),
    SequenceState.active: frozenset({SequenceState.paused, SequenceState.archived}),
    SequenceState.paused: frozenset({SequenceState.active, SequenceState.archived}),
    SequenceState.archived: frozenset(),
}
UNSENT = (MessageStatus.queued, MessageStatus.sending)


def _with_steps() -> Any:
    return selectinload(Sequence.steps).selectinload(SequenceStep.variants)


async def get(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    sequence_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> Sequence:
    """The sequence with its steps and variants, freshly loaded (edits made by set-based
    statements in this transaction show)."""
    query = (
        scoped(Sequence, workspace_id)
        .where(Sequence.id == sequence_id)
        .options(_with_steps())
        .execution_options(populate_existing=True)
    )
    if for_update:
        query = query.with_for_update(of=Sequence)
    sequence = (await session.scalars(query)).one_or_none()
    if sequence is None:
        raise SequenceNotFound()
    return sequence


async def get_editable(
    session: AsyncSession, workspace_id: uuid.UUID, sequence_id: uuid.UUID
) -> Sequence:
    sequence = await get(session, workspace_id, sequence_id, for_update=True)
    if sequence.state == SequenceState.archived:
        raise SequenceArchived()
    return sequence


async def list_page(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    limit: int,
    cursor: str | None = None,
    state: SequenceState | None = None,
) -> Window[Sequence]:
    query = scoped(Sequence, workspace_id)
    if state is not None:
        query = query.where(Sequence.state == state)
    query = newest_first(query, Sequence.created_at, Sequence.id, cursor=cursor, limit=limit)
    rows = list((await session.scalars(query)).all())
    return page_of(rows, limit, cursor)


async def mailbox_ids(session: AsyncSession, sequence_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(sequence_mailboxes.c.mailbox_id)
        .where(sequence_mailboxes.c.sequence_id == sequence_id)
        .order_by(sequence_mailboxes.c.mailbox_id)
    )
    return list(rows.all())


async def _set_mailboxes(
    session: AsyncSession, sequence: Sequence, wanted: Iterable[uuid.UUID]
) -> None:
    ids = list(dict.fromkeys(wanted))
    found = set(
        (
            await session.scalars(
                scoped(Mailbox, sequence.workspace_id)
                .where(Mailbox.id.in_(ids))
                .with_only_columns(Mailbox.id)
            )
        ).all()
    )
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise UnknownMailbox(details={"mailbox_ids": missing})
    await session.execute(
        delete(sequence_mailboxes).where(sequence_mailboxes.c.sequence_id == sequence.id)
    )
    if ids:
        await session.execute(
            insert(sequence_mailboxes),
            [{"sequence_id": sequence.id, "mailbox_id": i} for i in ids],
        )


async def record(
    session: AsyncSession,
    action: str,
    workspace_id: uuid.UUID,
    sequence_id: uuid.UUID,
    by: CurrentMember | None,
    details: dict[str, Any] | None = None,
) -> None:
    """A change to a sequence (its settings, state, steps or their content) in the audit log."""
    await audit.record(
        session, action, actor=by, workspace_id=workspace_id, target_type="sequence",
        target_id=sequence_id, details=details,
    )  # fmt: skip


async def create(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    data: SequenceCreate,
    *,
    by: CurrentMember | None = None,
) -> Sequence:
    sequence = Sequence(
        workspace_id=workspace_id,
        name=data.name,
        description=data.description,
        state=SequenceState.draft,
        timezone=data.timezone,
        window=data.window.model_dump(),
        stop_rules=data.stop_rules.model_dump(),
        postal_address=data.postal_address,
        min_score=data.min_score,
        require_verified_email=data.require_verified_email,
    )
    session.add(sequence)
    await session.flush()
    await _set_mailboxes(session, sequence, data.mailbox_ids)
    await record(session, "sequence.created", workspace_id, sequence.id, by, {"name": data.name})
    return await get(session, workspace_id, sequence.id)


async def update_settings(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    sequence_id: uuid.UUID,
    data: SequenceUpdate,
    *,
    by: CurrentMember | None = None,
) -> Sequence:
    sequence = await get_editable(session, workspace_id, sequence_id)
    changes = data.model_dump(exclude_unset=True, exclude={"mailbox_ids"})
    for key in ("name", "description", "timezone", "window", "stop_rules", "postal_address"):
        if key in changes and changes[key] is not None:
            setattr(sequence, key, changes[key])
    if "min_score" in changes:
        sequence.min_score = changes["min_score"]
    if changes.get("require_verified_email") is not None:
        sequence.require_verified_email = changes["require_verified_email"]
    if data.mailbox_ids is not None:
        await _set_mailboxes(session, sequence, data.mailbox_ids)
    await session.flush()
    fields = sorted(data.model_fields_set)
    await record(session, "sequence.updated", workspace_id, sequence_id, by, {"fields": fields})
    return await get(session, workspace_id, sequence_id)


async def known_custom_fields(session: AsyncSession, workspace_id: uuid.UUID) -> frozenset[str]:
    rows = await session.scalars(
        text(
            "SELECT DISTINCT jsonb_object_keys(custom_fields) FROM leads "
            "WHERE workspace_id = :w AND custom_fields <> '{}'::jsonb"
        ),
        {"w": workspace_id},
    )
    return frozenset(rows.all())


async def _sends_real_mail(session: AsyncSession, sequence_id: uuid.UUID) -> bool:
    """One of the sequence's active mailboxes delivers to real recipients (not a catcher)."""
    configs = await session.scalars(
        select(Mailbox.config)
        .select_from(sequence_mailboxes.join(Mailbox))
        .where(
            sequence_mailboxes.c.sequence_id == sequence_id,
            Mailbox.state == MailboxState.active,
        )
    )
    return any(not (config or {}).get("catcher_dir") for config in configs)


async def readiness_problems(
    session: AsyncSession, sequence: Sequence, *, links_problem: str | None = None
) -> list[dict[str, Any]]:
    """What stops the sequence from being activated. `links_problem`:
    Settings.private_links_problem, a problem when one of its mailboxes sends real mail (the
    demo's catcher mailboxes send none)."""
    problems: list[dict[str, Any]] = []
    if not sequence.steps:
        problems.append({"problem": "no_steps", "message": "Add at least one step."})
    custom = await known_custom_fields(session, sequence.workspace_id)
    for step in sequence.steps:
        if not step.variants:
            problems.append({"problem": "no_variants", "step": step.position})
        for variant in step.variants:
            for field, source in (("subject", variant.subject), ("body", variant.body)):
                try:
                    validate_template(source, custom_fields=custom)
                except TemplateError as exc:
                    problems.append(
                        {
                            "problem": exc.code,
                            "step": step.position,
                            "variant": variant.label,
                            "field": field,
                            "message": exc.message,
                        }
                    )
        if step.position == 1 and not any(v.subject.strip() for v in step.variants):
            problems.append({"problem": "no_subject", "step": 1})
    active_mailboxes = await session.scalar(
        select(func.count())
        .select_from(sequence_mailboxes.join(Mailbox))
        .where(
            sequence_mailboxes.c.sequence_id == sequence.id,
            Mailbox.state == MailboxState.active,
        )
    )
    if not active_mailboxes:
        problems.append({"problem": "no_mailbox", "message": "Choose an active mailbox."})
    elif links_problem is not None and await _sends_real_mail(session, sequence.id):
        message = f"Its mailbox sends real mail, but {links_problem}."
        problems.append({"problem": "public_url_private", "message": message})
    if not sequence.postal_address.strip():
        problems.append(
            {"problem": "no_postal_address", "message": "Add the postal address for the footer."}
        )
    return problems


# What a person can do to a sequence: (action, the state it leads to, the states it may start from).
ACTIONS: dict[str, tuple[SequenceState, frozenset[SequenceState]]] = {
    "activate": (SequenceState.active, frozenset({SequenceState.draft, SequenceState.paused})),
    "pause": (SequenceState.paused, frozenset({SequenceState.active})),
    "resume": (SequenceState.active, frozenset({SequenceState.paused})),
    "archive": (
        SequenceState.archived,
        frozenset({SequenceState.draft, SequenceState.active, SequenceState.paused}),
    ),
}


async def apply_action(
    session: AsyncSession, workspace_id: uuid.UUID, sequence_id: uuid.UUID, action: str, *,
    now: datetime, by: CurrentMember | None = None, links_problem: str | None = None,
) -> Sequence:  # fmt: skip
    """A person's action (activate, pause, resume, archive): refused with the states it may
    start from when the sequence is elsewhere, else the transition with its effects."""
    target, sources = ACTIONS[action]
    sequence = await get(session, workspace_id, sequence_id)
    if sequence.state not in sources:
        raise InvalidTransition(
            cannot("sequence", sequence.state.value, action, (x.value for x in sources)),
            details={"from": sequence.state.value, "to": target.value, "action": action},
        )
    details = {"from": sequence.state.value, "to": target.value}
    changed = await transition(
        session, workspace_id, sequence_id, target, now=now, links_problem=links_problem
    )
    # activate, pause, resume, archive: sequence.activated, .paused, .resumed, .archived
    await record(session, f"sequence.{action}d", workspace_id, sequence_id, by, details)
    return changed


async def transition(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    sequence_id: uuid.UUID,
    to: SequenceState,
    *,
    now: datetime,
    links_problem: str | None = None,
) -> Sequence:
    """`links_problem`: see `readiness_problems`."""
    sequence = await get(session, workspace_id, sequence_id, for_update=True)
    current = sequence.state
    if to not in ALLOWED[current]:
        raise InvalidTransition(
            f"A {current.value} sequence cannot become {to.value}.",
            details={"from": current.value, "to": to.value},
        )
    if to == SequenceState.active:
        problems = await readiness_problems(session, sequence, links_problem=links_problem)
        if problems:
            raise SequenceNotReady(details={"problems": problems})
        await unpark(session, sequence.id, now=now)
    elif to == SequenceState.paused:
        await withdraw_unsent(session, Enrollment.sequence_id == sequence.id, park=True)
    elif to == SequenceState.archived:
        await stop_where(session, Enrollment.sequence_id == sequence.id, "sequence_archived", now)
    sequence.state = to
    await session.flush()
    return sequence


async def unpark(session: AsyncSession, sequence_id: uuid.UUID, *, now: datetime) -> int:
    result = await session.execute(
        update(Enrollment)
        .where(
            Enrollment.sequence_id == sequence_id,
            Enrollment.state == EnrollmentState.active,
            Enrollment.next_run_at.is_(None),
        )
        .values(next_run_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def withdraw_unsent(session: AsyncSession, condition: Any, *, park: bool) -> int:
    """Delete the queued (never attempted) messages of the matching enrollments and plan their
    steps again: the enrollment goes back to the earliest withdrawn step (a completed one
    becomes active again). A message a worker already marked `sending` stays. With `park`,
    the enrollments wait (`next_run_at` NULL) until `unpark`."""
    targets = select(Enrollment.id).where(condition).scalar_subquery()
    withdrawn = (
        delete(Message)
        .where(
            Message.enrollment_id.in_(targets),
            Message.status == MessageStatus.queued,
            Message.direction == "outbound",
        )
        .returning(Message.enrollment_id, Message.step_id)
    )
    rows = (await session.execute(withdrawn)).all()
    if rows:
        positions = dict(
            (
                await session.execute(
                    select(SequenceStep.id, SequenceStep.position).where(
                        SequenceStep.id.in_({step for _, step in rows if step is not None})
                    )
                )
            ).all()
        )
        earliest: dict[uuid.UUID, int] = {}
        for enrollment_id, step_id in rows:
            if enrollment_id is None or step_id not in positions:
                continue
            pos = positions[step_id]
            earliest[enrollment_id] = min(pos, earliest.get(enrollment_id, pos))
        if earliest:
            await session.execute(
                update(Enrollment)
                .where(Enrollment.state == EnrollmentState.completed)
                .where(Enrollment.id.in_(list(earliest)))
                .values(state=EnrollmentState.active)
                .execution_options(synchronize_session=False)
            )
            await session.execute(
                update(Enrollment), [{"id": e, "next_step": pos} for e, pos in earliest.items()]
            )
    if park:
        await session.execute(
            update(Enrollment)
            .where(condition, Enrollment.state == EnrollmentState.active)
            .values(next_run_at=None)
            .execution_options(synchronize_session=False)
        )
    return len(rows)


async def stop_where(session: AsyncSession, condition: Any, reason: str, now: datetime) -> int:
    """Stop the matching enrollments that can still send (see `suppressions.stops`)."""
    return len(await stops.stop_enrollments(session, condition, reason, now))


async def stats(
    session: AsyncSession, workspace_id: uuid.UUID, sequence_id: uuid.UUID
) -> SequenceStats:
    """`finished` only when no enrollment can still send and no message is queued or sending:
    an enrollment is `completed` as soon as its last step is queued, not when it left."""
    await get(session, workspace_id, sequence_id)
    enrollments = dict(
        (
            await session.execute(
                select(Enrollment.state, func.count())
                .where(Enrollment.sequence_id == sequence_id)
                .group_by(Enrollment.state)
            )
        ).all()
    )
    messages = dict(
        (
            await session.execute(
                select(Message.status, func.count())
                .join(Enrollment, Enrollment.id == Message.enrollment_id)
                .where(Enrollment.sequence_id == sequence_id, Message.direction == "outbound")
                .group_by(Message.status)
            )
        ).all()
    )
    unsent = sum(messages.get(s, 0) for s in UNSENT)
    live = enrollments.get(EnrollmentState.active, 0) + enrollments.get(EnrollmentState.paused, 0)
    total = sum(enrollments.values())
    return SequenceStats(
        enrollments={s.value: enrollments.get(s, 0) for s in EnrollmentState},
        messages={s.value: messages.get(s, 0) for s in MessageStatus},
        unsent=unsent,
        finished=total > 0 and live == 0 and unsent == 0,
    )

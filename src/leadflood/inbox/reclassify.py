"""Classifying stored mail again after a rules change: every inbound message that came from a
raw email, whose classification is of another rules version and that no person corrected, is
understood again from its raw bytes and its classification replaced (the former one kept under
`previous`).

Effects follow only where the new conclusion protects a person the old one did not: a message
now read as an unsubscribe request or a complaint suppresses the person and stops their
enrollments, a hard bounce suppresses the address; each is written to the message's `effects`,
as at ingestion. A conclusion that would undo or delay something (a reply now read as an
auto-reply) changes the label only: stops and suppressions already made stay."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import jobs
from leadflood.auth import audit
from leadflood.auth.principal import CurrentMember
from leadflood.db.engine import Database
from leadflood.db.scope import in_workspace
from leadflood.errors import Conflict
from leadflood.inbox import effects, understanding
from leadflood.inbox.rules import RULES_VERSION, Classification
from leadflood.inbox.threading import Target
from leadflood.models import InboundItem, Message

PAGE = 200
# The fields a person reads as "the label"; a change of any of them is a new conclusion.
MEANING = ("kind", "label", "bounce_type", "recipient", "return_date", "referral_email")


@dataclass
class Progress:
    checked: int = 0
    changed: int = 0
    acted: int = 0
    last: uuid.UUID | None = None


def _stale(workspace_id: uuid.UUID) -> Any:
    return (
        in_workspace(Message, workspace_id),
        Message.direction == "inbound",
        Message.corrected_by.is_(None),
        or_(
            Message.classification.is_(None),
            Message.classification["version"].astext.is_distinct_from(RULES_VERSION),
        ),
    )


async def count_stale(
    session: AsyncSession, workspace_id: uuid.UUID, *, cap: int | None = None
) -> int:
    """How many inbound messages of the workspace a re-classification would read; with `cap`,
    counted up to cap + 1 only (a page shown often need not read every message: "more than
    cap")."""
    stale = (
        select(Message.id)
        .join(InboundItem, InboundItem.id == Message.inbound_item_id)
        .where(*_stale(workspace_id), InboundItem.raw.is_not(None))
    )
    if cap is not None:
        stale = stale.limit(cap + 1)
    query = select(func.count()).select_from(stale.subquery())
    return int(await session.scalar(query) or 0)


def _protects(old: dict[str, Any], new: Classification) -> bool:
    """The new conclusion suppresses someone the old one did not."""
    if new.kind in ("unsubscribe", "complaint"):
        return old.get("kind") not in ("unsubscribe", "complaint")
    if new.kind == "bounce" and new.bounce_type == "hard":
        return not (old.get("kind") == "bounce" and old.get("bounce_type") == "hard")
    return False


async def page(
    session: AsyncSession, workspace_id: uuid.UUID, *, after: uuid.UUID | None, now: datetime
) -> Progress:
    """Re-classify the next PAGE stale messages after `after` (by id), in this transaction."""
    query = (
        select(Message, InboundItem.raw, InboundItem.received_at)
        .join(InboundItem, InboundItem.id == Message.inbound_item_id)
        .where(*_stale(workspace_id), InboundItem.raw.is_not(None))
        .order_by(Message.id)
        .limit(PAGE)
        .with_for_update(of=Message)
    )
    if after is not None:
        query = query.where(Message.id > after)
    rows = (await session.execute(query)).all()
    done = Progress(checked=len(rows), last=rows[-1][0].id if rows else None)
    if not rows:
        return done
    understood = await understanding.understand_all([(raw or b"", at) for _, raw, at in rows])
    for (message, _, _), fresh in zip(rows, understood, strict=True):
        old = dict(message.classification or {})
        new = fresh.result
        stored: dict[str, Any] = {**old, **new.to_json()}
        if any(old.get(key) != stored.get(key) for key in MEANING):
            done.changed += 1
            stored["previous"] = {k: old.get(k) for k in ("kind", "label", "version", "evidence")}
            if _protects(old, new):
                target = Target(
                    lead_id=message.lead_id, message=None, enrollment_id=message.enrollment_id,
                    mailbox_id=message.mailbox_id, matched_by=str(old.get("matched_by") or ""),
                )  # fmt: skip
                acted = await effects.apply(session, workspace_id, target, new, now)
                stored["effects"] = [*(old.get("effects") or []), *acted]
                done.acted += bool(acted)
        message.classification = stored
    await session.flush()
    return done


RECLASSIFY_TASK = "inbox.reclassify"


async def run(
    db: Database,
    workspace_id: uuid.UUID,
    *,
    now: datetime,
    by: CurrentMember | None = None,
    on_page: Callable[[Progress], None] | None = None,
) -> Progress:
    """Every stale message of the workspace, a page per transaction (a stop loses at most a
    page; the next run goes on with what is still stale); audited with the totals."""
    total, after = Progress(), None
    while True:
        async with db.session() as session:
            done = await page(session, workspace_id, after=after, now=now)
        if not done.checked:
            break
        after = total.last = done.last
        total.checked += done.checked
        total.changed += done.changed
        total.acted += done.acted
        if on_page is not None:
            on_page(done)
    async with db.session() as session:
        await audit.record(
            session, "inbox.reclassified", actor=by, workspace_id=workspace_id,
            target_type="workspace", target_id=workspace_id,
            details={"version": RULES_VERSION, "checked": total.checked,
                     "changed": total.changed, "acted": total.acted},
        )  # fmt: skip
    return total


async def start(session: AsyncSession, workspace_id: uuid.UUID) -> tuple[int, int]:
    """Queue a re-classification of the workspace (one at a time): (its job id, the messages it
    will read)."""
    stale = await count_stale(session, workspace_id)
    try:
        async with session.begin_nested():
            job_id = await jobs.defer(
                session, RECLASSIFY_TASK, workspace_id=workspace_id, subject_type="workspace",
                subject_id=workspace_id, queueing_lock=f"{RECLASSIFY_TASK}:{workspace_id}",
                workspace=str(workspace_id),
            )  # fmt: skip
    except AlreadyEnqueued:
        raise AlreadyReclassifying() from None
    return job_id, stale


class AlreadyReclassifying(Conflict):
    code = "reclassify_queued"
    message = "A re-classification of this workspace is already waiting to run."

"""The raw store: every inbound item goes into `inbound_items` as it came, before anything else
happens, under a dedupe key (stored once, however often it is seen). What is stored is never
changed (a trigger refuses it) but by an erasure; processing runs after, and again after a
fix, on the processing columns only.

The integrator's hook: `store_mail` and `store_payloads` return the ids of the items that are
new in this transaction; processing starts from those (or from `unprocessed`)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, null, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.models import InboundItem
from leadflood.providers.inbound.imap import message_id_of


@dataclass(frozen=True)
class RawMail:
    """One email as read from a mailbox: its RFC 5322 bytes and where it was found."""

    raw: bytes
    folder: str | None = None
    uidvalidity: int | None = None
    uid: int | None = None
    delivered_at: datetime | None = None


def mail_key(raw: bytes) -> str:
    """The dedupe key of an email: its Message-ID's hash (the same mail in two folders, or seen
    again under a new UIDVALIDITY, is one item), else the hash of its bytes."""
    header_end = raw.find(b"\r\n\r\n")
    if header_end < 0:
        header_end = raw.find(b"\n\n")
    message_id = message_id_of(raw if header_end < 0 else raw[: header_end + 2])
    if message_id:
        return "message-id:" + hashlib.sha256(message_id.encode()).hexdigest()
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def message_id_key(message_id: str) -> str:
    """The key `mail_key` gives a mail with this Message-ID (angle brackets removed)."""
    return "message-id:" + hashlib.sha256(message_id.encode()).hexdigest()


async def store_mail(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    mails: Sequence[RawMail],
    *,
    source: str,
    mailbox_id: uuid.UUID | None = None,
    keys: Sequence[str] | None = None,
) -> list[uuid.UUID]:
    """Store each mail unless its key is already stored (in this workspace); the ids of the new
    items, in the order given. Safe to run concurrently: the unique key decides. `keys`: the
    mails' `mail_key`s when the caller has them."""
    rows = []
    seen: set[str] = set()
    for mail, key in zip(mails, keys or [mail_key(m.raw) for m in mails], strict=True):
        if key in seen:
            continue
        seen.add(key)
        rows.append(
            {
                "id": uuid.uuid4(),
                "workspace_id": workspace_id,
                "source": source,
                "mailbox_id": mailbox_id,
                "folder": mail.folder,
                "uidvalidity": mail.uidvalidity,
                "uid": mail.uid,
                "delivered_at": mail.delivered_at,
                "dedupe_key": key,
                "raw": mail.raw,
            }
        )
    return await _insert(session, rows)


async def store_payloads(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    items: Sequence[tuple[str, dict[str, Any]]],
    *,
    source: str,
    mailbox_id: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """A provider's JSON events, each with the dedupe key the caller derives from it (its
    event id); the ids of the new items."""
    rows = [
        {
            "id": uuid.uuid4(),
            "workspace_id": workspace_id,
            "source": source,
            "mailbox_id": mailbox_id,
            "dedupe_key": key,
            "payload": payload,
        }
        for key, payload in dict(items).items()
    ]
    return await _insert(session, rows)


async def _insert(session: AsyncSession, rows: list[dict[str, Any]]) -> list[uuid.UUID]:
    if not rows:
        return []
    # Rows as executemany parameters, not `.values(rows)`: one compiled statement whatever the
    # batch's size (SQLAlchemy sends it as multi-row VALUES), instead of a statement compiled
    # and parsed anew for every batch.
    statement = (
        insert(InboundItem)
        .on_conflict_do_nothing(index_elements=["workspace_id", "dedupe_key"])
        .returning(InboundItem.id)
    )
    inserted = set((await session.scalars(statement, rows)).all())
    return [row["id"] for row in rows if row["id"] in inserted]


async def known_keys(
    session: AsyncSession, workspace_id: uuid.UUID, keys: Sequence[str]
) -> set[str]:
    """Which of these dedupe keys are stored already."""
    if not keys:
        return set()
    found = await session.scalars(
        select(InboundItem.dedupe_key).where(
            InboundItem.workspace_id == workspace_id, InboundItem.dedupe_key.in_(list(keys))
        )
    )
    return set(found.all())


async def unprocessed(session: AsyncSession, *, limit: int = 100) -> list[InboundItem]:
    """Items not processed yet, the least tried then the oldest first (an item that keeps
    failing does not hold back the others), locked for this transaction (SKIP LOCKED: many
    workers share the backlog)."""
    query = (
        select(InboundItem)
        .where(InboundItem.processed_at.is_(None))
        .order_by(InboundItem.attempts, InboundItem.received_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(query)).all())


async def mark_processed(
    session: AsyncSession, item_id: uuid.UUID, *, error: str | None = None
) -> None:
    """Record one processing attempt: done (error None) or failed with `error` (left
    unprocessed, to be tried again)."""
    await session.execute(
        update(InboundItem)
        .where(InboundItem.id == item_id)
        .values(
            processed_at=None if error else func.now(),
            process_error=error,
            attempts=InboundItem.attempts + 1,
        )
    )


async def mark_all_processed(session: AsyncSession, item_ids: Sequence[uuid.UUID]) -> None:
    """`mark_processed` (done) for a batch, in one statement."""
    if item_ids:
        await session.execute(
            update(InboundItem)
            .where(InboundItem.id.in_(list(item_ids)))
            .values(processed_at=func.now(), process_error=None, attempts=InboundItem.attempts + 1)
        )


async def reprocess(
    session: AsyncSession, workspace_id: uuid.UUID, item_ids: Sequence[uuid.UUID]
) -> int:
    """Mark items unprocessed again (after a fix); how many."""
    result = await session.execute(
        update(InboundItem)
        .where(InboundItem.workspace_id == workspace_id, InboundItem.id.in_(list(item_ids)))
        .values(processed_at=None, process_error=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def erase(
    session: AsyncSession, workspace_id: uuid.UUID, item_ids: Sequence[uuid.UUID]
) -> int:
    """Remove what was received (a person's erasure): raw and payload become NULL, the row and
    its dedupe key stay (so the same mail is not stored again by the next sync); how many."""
    result = await session.execute(
        update(InboundItem)
        .where(
            InboundItem.workspace_id == workspace_id,
            InboundItem.id.in_(list(item_ids)),
            InboundItem.erased_at.is_(None),
        )
        .values(raw=None, payload=null(), erased_at=datetime.now(UTC))
    )
    return int(getattr(result, "rowcount", 0) or 0)

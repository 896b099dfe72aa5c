"""Syncing a mailbox against a real IMAP server (Dovecot): each message stored once, nothing
marked read, a new connection or a UIDVALIDITY change stores nothing twice, spam watched when
chosen, failures recorded on the mailbox, recovery finds what the position skipped."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from leadflood.inbox import store, sync
from leadflood.inbox.sync import sync_mailbox
from leadflood.models import InboundItem, MailboxFolder
from leadflood.providers.inbound.imap import ImapTemporaryError
from leadflood.runtime import Runtime
from tests.factories import make_imap_mailbox, make_workspace
from tests.support.dovecot import DovecotServer


def reply(
    subject: str = "Re: hello", *, message_id: str | None = "", body: str = "Sounds good."
) -> bytes:
    """An RFC 5322 reply; `message_id` "" gives a fresh one, None none at all."""
    if message_id == "":
        message_id = f"<{uuid.uuid4().hex}@prospect.example>"
    headers = [
        "From: Pat Prospect <pat@prospect.example>",
        "To: Sam Sender <sam@sender.example>",
        f"Subject: {subject}",
        "Date: Mon, 03 Mar 2025 15:00:00 +0000",
    ]
    if message_id is not None:
        headers.append(f"Message-ID: {message_id}")
    return ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode()


async def _mailbox(runtime: Runtime, dovecot: DovecotServer, user: str, **imap: Any) -> uuid.UUID:
    async with runtime.db.session() as session:
        workspace = await make_workspace(session)
        mailbox = await make_imap_mailbox(session, workspace.id, dovecot.imap_settings(user) | imap)
        return mailbox.id


async def _items(runtime: Runtime, mailbox_id: uuid.UUID) -> list[InboundItem]:
    async with runtime.db.sessions() as session:
        rows = await session.scalars(
            select(InboundItem)
            .where(InboundItem.mailbox_id == mailbox_id)
            .order_by(InboundItem.folder, InboundItem.uid)
        )
        return list(rows)


async def _folders(runtime: Runtime, mailbox_id: uuid.UUID) -> dict[str, MailboxFolder]:
    async with runtime.db.sessions() as session:
        rows = await session.scalars(
            select(MailboxFolder).where(MailboxFolder.mailbox_id == mailbox_id)
        )
        return {row.folder: row for row in rows}


async def test_each_message_is_stored_once_raw_and_nothing_is_marked_read(
    runtime: Runtime, dovecot: DovecotServer, imap_user: str
) -> None:
    first, second = reply("Re: one"), reply("Re: two")
    dovecot.append(imap_user, "INBOX", first)
    dovecot.append(imap_user, "INBOX", second)
    mailbox_id = await _mailbox(runtime, dovecot, imap_user)
    before = dovecot.flags(imap_user, "INBOX")

    report = await sync_mailbox(runtime.db, mailbox_id)

    assert report.ok and len(report.stored) == 2
    items = await _items(runtime, mailbox_id)
    assert [i.raw for i in items] == [first, second]  # the bytes as the server holds them
    assert all(i.source == "imap" and i.folder == "INBOX" and i.processed_at is None for i in items)
    assert [i.uid for i in items] == [1, 2] and items[0].uidvalidity
    assert sorted(report.stored) == sorted(i.id for i in items)
    after = dovecot.flags(imap_user, "INBOX")
    assert after == before and not any(b"\\Seen" in f for f in after.values())
    state = (await _folders(runtime, mailbox_id))["INBOX"]
    assert state.last_uid == 2 and state.last_good_sync_at and state.last_error is None
    assert state.stored_total == 2

    # A later run (a new connection, as after a restart) stores only what is new.
    again = await sync_mailbox(runtime.db, mailbox_id)
    assert again.ok and again.stored == []
    third = reply("Re: three")
    dovecot.append(imap_user, "INBOX", third)
    later = await sync_mailbox(runtime.db, mailbox_id)
    assert len(later.stored) == 1
    assert [i.raw for i in await _items(runtime, mailbox_id)] == [first, second, third]
    assert not any(b"\\Seen" in f for f in dovecot.flags(imap_user, "INBOX").values())


async def test_a_uidvalidity_change_resyncs_the_window_without_duplicates(
    runtime: Runtime, dovecot: DovecotServer, imap_user: str
) -> None:
    for n in range(3):
        dovecot.append(imap_user, "INBOX", reply(f"Re: {n}"))
    no_id = reply("Re: no id", message_id=None)
    dovecot.append(imap_user, "INBOX", no_id)
    mailbox_id = await _mailbox(runtime, dovecot, imap_user)
    assert len((await sync_mailbox(runtime.db, mailbox_id)).stored) == 4
    old = (await _folders(runtime, mailbox_id))["INBOX"].uidvalidity

    new_validity = dovecot.change_uidvalidity(imap_user, "INBOX")
    late = reply("Re: arrived during the change")
    dovecot.append(imap_user, "INBOX", late)
    report = await sync_mailbox(runtime.db, mailbox_id)

    assert report.ok and report.folders[0].uidvalidity_changed
    items = await _items(runtime, mailbox_id)
    assert len(items) == 5 and len(report.stored) == 1
    assert {i.raw for i in items} >= {late, no_id}
    state = (await _folders(runtime, mailbox_id))["INBOX"]
    assert state.uidvalidity == new_validity != old
    assert state.last_uid == 5 and state.last_resync_at is not None
    # Back to following new mail under the new numbering.
    assert (await sync_mailbox(runtime.db, mailbox_id)).stored == []
    dovecot.append(imap_user, "INBOX", reply("Re: after"))
    assert len((await sync_mailbox(runtime.db, mailbox_id)).stored) == 1


async def test_the_spam_folder_is_read_when_chosen_and_a_mail_in_two_folders_is_one_item(
    runtime: Runtime, dovecot: DovecotServer, imap_user: str
) -> None:
    in_spam = reply("Re: filtered")
    both = reply("Re: copied")
    dovecot.append(imap_user, "Junk", in_spam)
    dovecot.append(imap_user, "Junk", both)
    dovecot.append(imap_user, "INBOX", both)
    only_inbox = await _mailbox(runtime, dovecot, imap_user)
    assert len((await sync_mailbox(runtime.db, only_inbox)).stored) == 1

    with_spam = await _mailbox(runtime, dovecot, imap_user, folders=["INBOX", "Junk"])
    report = await sync_mailbox(runtime.db, with_spam)
    assert report.ok
    items = await _items(runtime, with_spam)
    assert sorted(i.raw for i in items) == sorted([in_spam, both])
    assert {f for f in await _folders(runtime, with_spam)} == {"INBOX", "Junk"}
    assert not any(b"\\Seen" in f for f in dovecot.flags(imap_user, "Junk").values())


async def test_a_wrong_password_is_recorded_on_the_mailbox_not_swallowed(
    runtime: Runtime, dovecot: DovecotServer, imap_user: str
) -> None:
    dovecot.append(imap_user, "INBOX", reply())
    mailbox_id = await _mailbox(runtime, dovecot, imap_user, password="wrong")
    report = await sync_mailbox(runtime.db, mailbox_id)
    assert not report.ok and report.folders[0].code == "imap_login_failed"
    state = (await _folders(runtime, mailbox_id))["INBOX"]
    assert state.last_error_code == "imap_login_failed" and state.failures == 1
    assert "password" in (state.last_error or "") and state.last_good_sync_at is None
    assert await _items(runtime, mailbox_id) == []
    assert dovecot.passwords[imap_user] not in (state.last_error or "")

    # A missing folder is that folder's error; the others still sync.
    fixed = await _mailbox(runtime, dovecot, imap_user, folders=["INBOX", "Archive/Nope"])
    partial = await sync_mailbox(runtime.db, fixed)
    states = await _folders(runtime, fixed)
    assert states["INBOX"].last_error is None and states["INBOX"].last_good_sync_at
    assert states["Archive/Nope"].last_error_code == "imap_folder_missing"
    assert len(partial.stored) == 1


async def test_recovery_finds_what_the_position_skipped_and_says_how_much(
    runtime: Runtime, dovecot: DovecotServer, imap_user: str
) -> None:
    dovecot.append(imap_user, "INBOX", reply("Re: seen"))
    mailbox_id = await _mailbox(runtime, dovecot, imap_user)
    await sync_mailbox(runtime.db, mailbox_id)
    missed = reply("Re: missed")
    dovecot.append(imap_user, "INBOX", missed)
    old = reply("Re: long ago")
    dovecot.append(imap_user, "INBOX", old, when=datetime.now(UTC) - timedelta(days=30))
    # As if the position had moved past them (a crash between two servers' numbering...).
    async with runtime.db.session() as session:
        await session.execute(
            update(MailboxFolder).where(MailboxFolder.mailbox_id == mailbox_id).values(last_uid=3)
        )
    assert (await sync_mailbox(runtime.db, mailbox_id)).stored == []

    report = await sync_mailbox(runtime.db, mailbox_id, recovery=True)

    assert len(report.stored) == 1  # the window is the last 7 days: not the 30-day-old one
    assert missed in {i.raw for i in await _items(runtime, mailbox_id)}
    state = (await _folders(runtime, mailbox_id))["INBOX"]
    assert state.recovery_found == 1 and state.last_recovery_at is not None
    assert state.last_uid == 3
    again = await sync_mailbox(runtime.db, mailbox_id, recovery=True)
    assert again.stored == [] and (await _folders(runtime, mailbox_id))["INBOX"].recovery_found == 0


async def test_the_processing_hook_runs_in_the_storing_transaction(
    runtime: Runtime, dovecot: DovecotServer, imap_user: str
) -> None:
    dovecot.append(imap_user, "INBOX", reply())
    mailbox_id = await _mailbox(runtime, dovecot, imap_user)
    seen: list[uuid.UUID] = []

    async def hook(session: Any, workspace_id: uuid.UUID, ids: list[uuid.UUID]) -> None:
        count = await session.scalar(
            select(func.count()).select_from(InboundItem).where(InboundItem.id.in_(ids))
        )
        assert count == len(ids)
        seen.extend(ids)
        await store.mark_processed(session, ids[0])

    report = await sync_mailbox(runtime.db, mailbox_id, on_stored=hook)
    assert seen == report.stored
    items = await _items(runtime, mailbox_id)
    assert items[0].processed_at is not None and items[0].attempts == 1


async def test_the_next_batch_is_fetched_and_prepared_while_one_is_ingested(
    runtime: Runtime, dovecot: DovecotServer, imap_user: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pipeline keeps the raw-first order: each batch is ingested with what was prepared for
    it, in order; when one fails, the batches before it stay stored with the position after
    them, the one under way is finished, and the next run ingests the rest once."""
    monkeypatch.setattr(sync, "BATCH", 2)
    mails = [reply(f"Re: {n}") for n in range(7)]
    for raw in mails:
        dovecot.append(imap_user, "INBOX", raw)
    mailbox_id = await _mailbox(runtime, dovecot, imap_user)
    prepared: list[list[int]] = []
    ingested: list[list[int]] = []

    async def prepare(batch: list[store.RawMail]) -> list[int]:
        prepared.append([m.uid for m in batch if m.uid is not None])
        return prepared[-1]

    async def ingest(
        session: Any, workspace_id: uuid.UUID, mailbox: uuid.UUID, batch: Any, uids: Any
    ) -> list[uuid.UUID]:
        assert uids == [m.uid for m in batch]  # what was prepared for this very batch
        if uids == [3, 4] and not ingested.count([3, 4]):
            ingested.append(uids)
            raise ImapTemporaryError("lost mid-batch", provider="imap")
        ingested.append(uids)
        return await sync.store_raw(session, workspace_id, mailbox, batch)

    report = await sync_mailbox(runtime.db, mailbox_id, ingest=ingest, prepare=prepare)
    assert not report.ok and len(report.stored) == 2
    assert ingested == [[1, 2], [3, 4]]
    assert prepared[:3] == [[1, 2], [3, 4], [5, 6]]  # the third was under way, and finished
    assert [i.uid for i in await _items(runtime, mailbox_id)] == [1, 2]
    assert (await _folders(runtime, mailbox_id))["INBOX"].last_uid == 2

    again = await sync_mailbox(runtime.db, mailbox_id, ingest=ingest, prepare=prepare)
    assert again.ok and len(again.stored) == 5
    assert ingested[2:] == [[3, 4], [5, 6], [7]]
    assert [i.raw for i in await _items(runtime, mailbox_id)] == mails
    assert (await _folders(runtime, mailbox_id))["INBOX"].last_uid == 7

"""Syncing one mailbox over IMAP: for each watched folder, the messages not stored yet go into
the raw store, then the folder's position moves on.

- Folders are opened read-only and messages fetched with BODY.PEEK[]: nothing is marked read.
- Position: (UIDVALIDITY, last UID) per folder. New mail is what lies above the last UID, and
  the last UID moves only in the transaction that stored the messages below it.
- A new UIDVALIDITY (and the first sync) reads the recent window instead (IMAP_WINDOW_DAYS):
  the Message-IDs are read first and only messages whose key is not stored are fetched.
- Recovery reads the same window for anything missed, and records how much it found.
- A failure is recorded on the folders (error, code, when, failures in a row) and the run
  goes on with the next folder; it never passes silently.

IMAP calls are blocking (imapclient): they run in a thread, one call at a time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import jobs
from leadflood.auth.crypto import UndecryptableSecret
from leadflood.db.engine import Database
from leadflood.inbox import store
from leadflood.logging import get_logger
from leadflood.mailboxes import imap as mailbox_imap
from leadflood.models import Mailbox, MailboxFolder
from leadflood.providers.inbound.imap import (
    ImapConnection,
    ImapError,
    ImapPermanentError,
    ImapSettings,
)
from leadflood.settings import Settings

log = get_logger("leadflood.inbox")

# Messages fetched per IMAP command and stored per transaction.
BATCH = 50
# Stored items handed on in the transaction that stored them (the processing hook).
OnStored = Callable[[AsyncSession, uuid.UUID, list[uuid.UUID]], Awaitable[None]]
# How fetched mail enters the store (session, workspace, mailbox, mails) -> new item ids: as it
# came by default; the worker's syncs pass the inbox's processing (`process.ingest_imap`), which
# keeps only mail that relates to us and acts on it in the same transaction.
# Its last argument is what `Prepare` made of the mails (None without one).
Ingest = Callable[
    [AsyncSession, uuid.UUID, uuid.UUID, list[store.RawMail], Any], Awaitable[list[uuid.UUID]]
]
# Work on fetched mail that needs no database (the inbox's understanding,
# `process.understand_mail`): done for the next batch, together with its fetch, while the
# current batch is ingested. Nothing is stored, nor the position moved, before that batch's
# own transaction: the raw store comes first and a batch ingested twice changes nothing.
Prepare = Callable[[list[store.RawMail]], Awaitable[Any]]


async def store_raw(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    mailbox_id: uuid.UUID,
    mails: list[store.RawMail],
    prepared: Any = None,
) -> list[uuid.UUID]:
    return await store.store_mail(
        session, workspace_id, mails, source="imap", mailbox_id=mailbox_id
    )


@dataclass
class FolderReport:
    folder: str
    stored: list[uuid.UUID] = field(default_factory=list)
    # Read the recent window: a first sync, or (`uidvalidity_changed`) a new UIDVALIDITY.
    resynced: bool = False
    uidvalidity_changed: bool = False
    error: str | None = None
    code: str | None = None


@dataclass
class SyncReport:
    mailbox_id: uuid.UUID
    recovery: bool = False
    folders: list[FolderReport] = field(default_factory=list)

    @property
    def stored(self) -> list[uuid.UUID]:
        return [item for f in self.folders for item in f.stored]

    @property
    def ok(self) -> bool:
        return all(f.error is None for f in self.folders)


async def sync_mailbox(
    db: Database,
    mailbox_id: uuid.UUID,
    *,
    recovery: bool = False,
    on_stored: OnStored | None = None,
    ingest: Ingest = store_raw,
    prepare: Prepare | None = None,
) -> SyncReport:
    """Store what is new in each watched folder of the mailbox (with `recovery`, what is
    missing from the recent window). Errors are recorded on the folders and reported, not
    raised. `on_stored(session, workspace_id, item_ids)` runs in each transaction that stored
    new items (processing starts there; a rollback undoes both). `prepare` runs on each fetched
    batch before its transaction, overlapping the previous batch's ingest."""
    report = SyncReport(mailbox_id=mailbox_id, recovery=recovery)
    async with db.session() as session:
        mailbox = await session.get(Mailbox, mailbox_id)
        if mailbox is None or not mailbox.imap:
            return report
        settings: Settings = session.info["settings"]
        workspace_id = mailbox.workspace_id
        folders = list(mailbox.imap.get("folders") or ["INBOX"])
        try:
            login: ImapSettings | None = await mailbox_imap.login_settings(session, mailbox)
            problem: ImapError | None = None
        except (mailbox_imap.ImapPasswordMissing, UndecryptableSecret) as exc:
            login = None
            message = (
                "The saved IMAP password cannot be decrypted with ENCRYPTION_KEYS; enter it again."
                if isinstance(exc, UndecryptableSecret)
                else str(exc)
            )
            problem = ImapPermanentError(message, provider="imap", code="imap_password_missing")
    connection = ImapConnection(login) if login is not None else None
    if connection is not None:
        try:
            await asyncio.to_thread(connection.open)
        except ImapError as exc:
            problem = exc
    if problem is not None:
        async with db.session() as session:
            for folder in folders:
                await _failed(session, workspace_id, mailbox_id, folder, problem)
        report.folders = [
            FolderReport(folder, error=str(problem), code=problem.code) for folder in folders
        ]
        log.warning("inbox.sync_failed", mailbox=str(mailbox_id), code=problem.code)
        return report
    assert connection is not None
    window = timedelta(days=settings.imap_window_days)
    try:
        for folder in folders:
            folder_report = FolderReport(folder)
            report.folders.append(folder_report)
            try:
                await _sync_folder(
                    db, connection, workspace_id, mailbox_id, folder_report,
                    recovery=recovery, window=window, on_stored=on_stored, ingest=ingest,
                    prepare=prepare,
                )  # fmt: skip
            except ImapError as exc:
                folder_report.error, folder_report.code = str(exc), exc.code
                async with db.session() as session:
                    await _failed(session, workspace_id, mailbox_id, folder, exc)
                log.warning(
                    "inbox.sync_failed", mailbox=str(mailbox_id), folder=folder, code=exc.code
                )
    finally:
        await asyncio.to_thread(connection.close)
    return report


async def _sync_folder(
    db: Database,
    connection: ImapConnection,
    workspace_id: uuid.UUID,
    mailbox_id: uuid.UUID,
    report: FolderReport,
    *,
    recovery: bool,
    window: timedelta,
    on_stored: OnStored | None,
    ingest: Ingest,
    prepare: Prepare | None = None,
) -> None:
    folder = report.folder
    state = await asyncio.to_thread(connection.select, folder)
    async with db.session() as session:
        row = await _folder_row(session, workspace_id, mailbox_id, folder)
        known_validity, last_uid = row.uidvalidity, row.last_uid
    report.resynced = known_validity != state.uidvalidity
    report.uidvalidity_changed = report.resynced and known_validity is not None
    if report.resynced or recovery:
        since = (datetime.now(UTC) - window).date()
        in_window = await asyncio.to_thread(connection.uids_since, since)
        wanted = await _not_stored(db, connection, workspace_id, in_window)
        if report.uidvalidity_changed:
            log.warning(
                "inbox.uidvalidity_changed", mailbox=str(mailbox_id), folder=folder,
                before=known_validity, after=state.uidvalidity, window=len(in_window),
            )  # fmt: skip
    else:
        in_window = []
        wanted = await asyncio.to_thread(connection.uids_after, last_uid)
    # On a resync the position restarts under the new UIDVALIDITY; a recovery alone leaves it.
    moves = report.resynced or not recovery
    chunks = [wanted[start : start + BATCH] for start in range(0, len(wanted), BATCH)]

    async def fetched(chunk: list[int]) -> tuple[list[store.RawMail], Any]:
        mails = [
            store.RawMail(
                raw=m.raw, folder=folder, uidvalidity=state.uidvalidity, uid=m.uid,
                delivered_at=m.internal_date,
            )
            for m in await asyncio.to_thread(connection.fetch, chunk)
        ]  # fmt: skip
        return mails, (await prepare(mails) if prepare is not None else None)

    # A pipeline: the next batch is fetched (and prepared) while this one is ingested; the
    # connection serves one call at a time, and only the next batch's fetch uses it meanwhile.
    ahead = asyncio.ensure_future(fetched(chunks[0])) if chunks else None
    try:
        for n, chunk in enumerate(chunks):
            assert ahead is not None
            mails, prepared = await ahead
            ahead = asyncio.ensure_future(fetched(chunks[n + 1])) if n + 1 < len(chunks) else None
            async with db.session() as session:
                stored = await ingest(session, workspace_id, mailbox_id, mails, prepared)
                if stored and on_stored is not None:
                    await on_stored(session, workspace_id, stored)
                await _advance(
                    session, mailbox_id, folder, state.uidvalidity,
                    max(chunk) if moves else None, len(stored),
                )  # fmt: skip
            report.stored.extend(stored)
    finally:
        if ahead is not None:  # a batch failed: the fetch under way ends before the connection
            await asyncio.gather(ahead, return_exceptions=True)
    # Everything up to the last UID the server had when the folder was opened is handled now.
    top = max([*wanted, *in_window, 0])
    if report.resynced and state.uidnext:
        top = max(top, state.uidnext - 1)
    async with db.session() as session:
        await _advance(session, mailbox_id, folder, state.uidvalidity, top if moves else None, 0)
        now = datetime.now(UTC)
        values: dict[str, object] = {
            "last_sync_at": now, "last_good_sync_at": now, "last_error": None,
            "last_error_code": None, "failures": 0,
        }  # fmt: skip
        if report.uidvalidity_changed:
            values["last_resync_at"] = now
        if recovery:
            values["last_recovery_at"] = now
            values["recovery_found"] = len(report.stored)
        await session.execute(
            update(MailboxFolder)
            .where(MailboxFolder.mailbox_id == mailbox_id, MailboxFolder.folder == folder)
            .values(**values)
        )
    if report.stored:
        log.info(
            "inbox.stored", mailbox=str(mailbox_id), folder=folder, count=len(report.stored),
            recovery=recovery, resynced=report.resynced,
        )  # fmt: skip


async def _not_stored(
    db: Database, connection: ImapConnection, workspace_id: uuid.UUID, uids: Sequence[int]
) -> list[int]:
    """The UIDs whose message is not in the store: read by Message-ID first (a header, not the
    message); a message without one is fetched (its key is the hash of its bytes)."""
    wanted: list[int] = []
    for start in range(0, len(uids), BATCH * 4):
        chunk = list(uids[start : start + BATCH * 4])
        ids = await asyncio.to_thread(connection.message_ids, chunk)
        keys = {uid: store.message_id_key(mid) for uid, mid in ids.items() if mid}
        async with db.sessions() as session:
            known = await store.known_keys(session, workspace_id, list(set(keys.values())))
        wanted.extend(uid for uid in chunk if uid not in keys or keys[uid] not in known)
    return wanted


async def _folder_row(
    session: AsyncSession, workspace_id: uuid.UUID, mailbox_id: uuid.UUID, folder: str
) -> MailboxFolder:
    await session.execute(
        insert(MailboxFolder)
        .values(id=uuid.uuid4(), workspace_id=workspace_id, mailbox_id=mailbox_id, folder=folder)
        .on_conflict_do_nothing(index_elements=["mailbox_id", "folder"])
    )
    row = await session.scalar(
        select(MailboxFolder).where(
            MailboxFolder.mailbox_id == mailbox_id, MailboxFolder.folder == folder
        )
    )
    assert row is not None
    return row


async def _advance(
    session: AsyncSession,
    mailbox_id: uuid.UUID,
    folder: str,
    uidvalidity: int,
    uid: int | None,
    stored: int,
) -> None:
    """Move the folder's position to `uid` under `uidvalidity` (never back under the same
    one) and count what was stored."""
    values: dict[str, object] = {"stored_total": MailboxFolder.stored_total + stored}
    if uid is not None:
        values["last_uid"] = case(
            (MailboxFolder.uidvalidity == uidvalidity, func.greatest(MailboxFolder.last_uid, uid)),
            else_=uid,
        )
        values["uidvalidity"] = uidvalidity
    await session.execute(
        update(MailboxFolder)
        .where(MailboxFolder.mailbox_id == mailbox_id, MailboxFolder.folder == folder)
        .values(**values)
    )


async def _failed(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    mailbox_id: uuid.UUID,
    folder: str,
    error: ImapError,
) -> None:
    await _folder_row(session, workspace_id, mailbox_id, folder)
    await session.execute(
        update(MailboxFolder)
        .where(MailboxFolder.mailbox_id == mailbox_id, MailboxFolder.folder == folder)
        .values(
            last_sync_at=datetime.now(UTC),
            last_error=str(error),
            last_error_code=error.code,
            failures=MailboxFolder.failures + 1,
        )
    )


async def queue(db: Database, mailbox_id: uuid.UUID, *, recovery: bool = False) -> int | None:
    """Defer a sync (or recovery) of the mailbox unless one is already waiting; its job id, or
    None when one was waiting (it will see everything this one would have)."""
    task = mailbox_imap.RECOVER_TASK if recovery else mailbox_imap.SYNC_TASK
    async with db.session() as session:
        try:
            async with session.begin_nested():
                return await jobs.defer(
                    session,
                    task,
                    queueing_lock=f"{task}:{mailbox_id}",
                    lock=mailbox_imap.sync_lock(mailbox_id),
                    mailbox_id=str(mailbox_id),
                )
        except AlreadyEnqueued:
            return None

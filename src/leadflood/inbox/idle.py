"""Hearing replies within seconds: a worker process keeps one IMAP IDLE connection on the first
watched folder (INBOX) of each mailbox whose server offers IDLE, and defers a sync of that
mailbox when the server announces new mail (the sync reads every watched folder; polling and
the recovery scan cover the rest).

Each connection lives in a thread of its own (imapclient blocks); an asyncio task supervises
them, looking for added, changed or removed mailboxes every `refresh` seconds. Several worker
processes share the mailboxes: a process watches a mailbox only while it holds the mailbox's
PostgreSQL advisory lock (on one connection of its own), so one IDLE connection per mailbox is
open at a time; when that process dies, its locks go and another one takes over.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from leadflood.auth.crypto import UndecryptableSecret
from leadflood.inbox import sync
from leadflood.logging import get_logger
from leadflood.mailboxes import imap as mailbox_imap
from leadflood.models import Mailbox
from leadflood.providers.inbound.imap import ImapConnection, ImapError, ImapSettings
from leadflood.runtime import Runtime

log = get_logger("leadflood.inbox.idle")

# Advisory lock keys: a namespace, then the mailbox.
_LOCK_SPACE = 0x1D1E


@dataclass(frozen=True)
class Watch:
    mailbox_id: uuid.UUID
    folder: str
    login: ImapSettings


class _Watcher:
    """One mailbox's IDLE thread."""

    def __init__(self, watch: Watch, notify: Callable[[uuid.UUID], None]) -> None:
        self.watch = watch
        self.notify = notify
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=self._run, name=f"imap-idle-{watch.mailbox_id}", daemon=True
        )

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        delay = 1.0
        while not self.stop.is_set():
            try:
                with ImapConnection(self.watch.login) as connection:
                    if not connection.supports_idle():
                        log.info("inbox.idle_unsupported", mailbox=str(self.watch.mailbox_id))
                        return  # polling alone
                    connection.select(self.watch.folder)
                    # Whatever arrived while no connection listened.
                    self.notify(self.watch.mailbox_id)
                    delay = 1.0
                    while not self.stop.is_set():
                        if connection.wait_for_mail(self.stop):
                            self.notify(self.watch.mailbox_id)
            except ImapError as exc:
                # The sync records failures on the mailbox; here, wait and connect again.
                log.warning(
                    "inbox.idle_lost", mailbox=str(self.watch.mailbox_id), code=exc.code,
                    retry_in=delay,
                )  # fmt: skip
            except Exception as exc:
                log.error(
                    "inbox.idle_failed", mailbox=str(self.watch.mailbox_id), error=str(exc),
                    retry_in=delay, exc_info=exc,
                )  # fmt: skip
            self.stop.wait(delay)
            delay = min(delay * 2, 300.0)


async def watches(runtime: Runtime) -> list[Watch]:
    """Every mailbox that reads replies, with its login and the folder to IDLE on."""
    found = []
    async with runtime.db.sessions() as session:
        for mailbox in await session.scalars(select(Mailbox).where(Mailbox.imap.is_not(None))):
            try:
                login = await mailbox_imap.login_settings(session, mailbox)
            except (mailbox_imap.ImapPasswordMissing, UndecryptableSecret):
                continue  # its syncs record why
            folders = (mailbox.imap or {}).get("folders") or ["INBOX"]
            found.append(Watch(mailbox.id, folders[0], login))
    return found


def _lock_key(mailbox_id: uuid.UUID) -> int:
    return int.from_bytes(mailbox_id.bytes[:4], "big", signed=True)


async def run(runtime: Runtime, *, refresh: float = 30.0) -> None:
    """Keep the IDLE connections of this process until cancelled. Never raises (but for
    cancellation): a failure is logged and the supervision starts again."""
    while True:
        try:
            await _supervise(runtime, refresh)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("inbox.idle_supervisor_failed", error=str(exc), exc_info=exc)
            await asyncio.sleep(refresh)


async def _supervise(runtime: Runtime, refresh: float) -> None:
    loop = asyncio.get_running_loop()
    watchers: dict[uuid.UUID, _Watcher] = {}
    pending: set[asyncio.Task[None]] = set()

    async def defer_sync(mailbox_id: uuid.UUID) -> None:
        try:
            await sync.queue(runtime.db, mailbox_id)
        except Exception as exc:  # the next poll syncs it anyway
            log.warning("inbox.idle_defer_failed", mailbox=str(mailbox_id), error=str(exc))

    def notify(mailbox_id: uuid.UUID) -> None:
        def start() -> None:
            task = loop.create_task(defer_sync(mailbox_id))
            pending.add(task)
            task.add_done_callback(pending.discard)

        loop.call_soon_threadsafe(start)

    async with runtime.db.engine.connect() as raw:
        locks = await raw.execution_options(isolation_level="AUTOCOMMIT")
        try:
            while True:
                wanted = {w.mailbox_id: w for w in await watches(runtime)}
                for mailbox_id, watcher in list(watchers.items()):
                    if wanted.get(mailbox_id) != watcher.watch:
                        watcher.stop.set()
                        del watchers[mailbox_id]
                        await _unlock(locks, mailbox_id)
                for mailbox_id, watch in wanted.items():
                    if mailbox_id in watchers or not await _try_lock(locks, mailbox_id):
                        continue
                    watcher = _Watcher(watch, notify)
                    watchers[mailbox_id] = watcher
                    watcher.start()
                await asyncio.sleep(refresh)
        finally:
            for watcher in watchers.values():
                watcher.stop.set()
            for watcher in watchers.values():
                await asyncio.to_thread(watcher.thread.join, 10)
            for task in list(pending):
                task.cancel()


async def _try_lock(connection: AsyncConnection, mailbox_id: uuid.UUID) -> bool:
    got = await connection.scalar(
        text("SELECT pg_try_advisory_lock(:space, :key)"),
        {"space": _LOCK_SPACE, "key": _lock_key(mailbox_id)},
    )
    return bool(got)


async def _unlock(connection: AsyncConnection, mailbox_id: uuid.UUID) -> None:
    with contextlib.suppress(Exception):
        await connection.execute(
            text("SELECT pg_advisory_unlock(:space, :key)"),
            {"space": _LOCK_SPACE, "key": _lock_key(mailbox_id)},
        )

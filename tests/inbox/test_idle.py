"""IDLE: a reply delivered to the mailbox is in the raw store within seconds, through the real
path (the IDLE thread hears EXISTS, defers a sync, a worker runs it), and nothing is marked
read."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid

from sqlalchemy import select

from leadflood import worker
from leadflood.inbox import idle
from leadflood.models import InboundItem
from leadflood.runtime import Runtime
from tests.factories import make_imap_mailbox, make_lead, make_workspace
from tests.inbox.test_sync import reply
from tests.support.dovecot import DovecotServer


async def _stored(runtime: Runtime, mailbox_id: uuid.UUID) -> list[bytes]:
    async with runtime.db.sessions() as session:
        rows = await session.scalars(
            select(InboundItem.raw).where(InboundItem.mailbox_id == mailbox_id)
        )
        return [r for r in rows if r is not None]


async def _wait_for(runtime: Runtime, mailbox_id: uuid.UUID, count: int, seconds: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if len(await _stored(runtime, mailbox_id)) >= count:
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise AssertionError(f"not {count} item(s) stored within {seconds} s")


async def test_idle_stores_a_new_reply_within_seconds(
    runtime: Runtime, dovecot: DovecotServer, imap_user: str
) -> None:
    async with runtime.db.session() as session:
        workspace = await make_workspace(session)
        # The inbox keeps mail that relates to the workspace: the replies come from a lead.
        await make_lead(session, workspace.id, email="pat@prospect.example")
        # Polled once a day: only IDLE can bring the replies in within seconds.
        mailbox = await make_imap_mailbox(
            session, workspace.id, dovecot.imap_settings(imap_user, poll_seconds=86_400)
        )
    watching = asyncio.create_task(idle.run(runtime, refresh=0.5))
    working = asyncio.create_task(worker.run(runtime, concurrency=2, install_signal_handlers=False))
    try:
        # The first connection syncs whatever was there (nothing yet): the folder is followed.
        await asyncio.sleep(2)
        first = reply("Re: heard at once")
        dovecot.append(imap_user, "INBOX", first)
        took = await _wait_for(runtime, mailbox.id, 1, seconds=8)
        assert took < 8
        second = reply("Re: and again")
        dovecot.append(imap_user, "INBOX", second)
        await _wait_for(runtime, mailbox.id, 2, seconds=8)
    finally:
        for task in (watching, working):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert sorted(await _stored(runtime, mailbox.id)) == sorted([first, second])
    assert not any(b"\\Seen" in f for f in dovecot.flags(imap_user, "INBOX").values())


async def test_one_process_holds_the_idle_of_a_mailbox(
    runtime: Runtime, dovecot: DovecotServer, imap_user: str
) -> None:
    async with runtime.db.session() as session:
        workspace = await make_workspace(session)
        mailbox = await make_imap_mailbox(session, workspace.id, dovecot.imap_settings(imap_user))
    async with runtime.db.engine.connect() as other:
        other = await other.execution_options(isolation_level="AUTOCOMMIT")
        assert await idle._try_lock(other, mailbox.id)  # another worker process has it
        watching = asyncio.create_task(idle.run(runtime, refresh=0.3))
        try:
            await asyncio.sleep(1.5)
            name = f"imap-idle-{mailbox.id}"
            assert name not in {t.name for t in threading.enumerate()}
            await idle._unlock(other, mailbox.id)  # that process went away
            await asyncio.sleep(1.5)
            assert name in {t.name for t in threading.enumerate()}
        finally:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching

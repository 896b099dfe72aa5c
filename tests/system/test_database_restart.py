"""Database-restart drills: PostgreSQL stops in the middle of a sending run and starts again on
the same data directory, under a real `leadflood worker` or `leadflood up`. Every message ends
`sent`, the SMTP server receives each Message-ID once, nobody restarts the worker, and `/ready`
answers 503 while the database is down and 200 once a worker beats again.

The embedded server (pgserver, Unix socket) is stopped the way `systemctl restart` does (fast:
sessions are terminated); Debian's server (TCP on 127.0.0.1) is stopped the way a crash does
(immediate: no shutdown checkpoint, recovery at start)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen

import httpx
import pytest
from sqlalchemy import func, select

from leadflood.db.engine import connect
from leadflood.models import Message, MessageStatus
from leadflood.runtime import Runtime
from leadflood.settings import Settings
from tests.factories import make_lead, make_mailbox, make_workspace, queue_message
from tests.support.postgres import RestartablePostgres, restartable_postgres
from tests.support.processes import leadflood_env, start, stop, wait_for
from tests.support.smtp_server import SmtpTestServer, free_port

pytestmark = pytest.mark.slow
COUNT = 300
OUTAGE = 5.0  # seconds PostgreSQL stays down
STOP_MODE = {"embedded": "fast", "debian": "immediate"}


@dataclass
class Drill:
    kind: str
    pg: RestartablePostgres
    runtime: Runtime
    smtp: SmtpTestServer
    message_ids: list[str]
    log: Path
    figures: dict[str, float | int] = field(default_factory=dict)


async def _queue(runtime: Runtime, smtp: SmtpTestServer) -> list[str]:
    async with runtime.db.session() as session:
        ws = await make_workspace(session)
        box = await make_mailbox(session, ws.id, config=smtp.config(), daily_cap=10_000)
        ids = []
        for i in range(COUNT):
            lead = await make_lead(session, ws.id, email=f"drill{i}@example.com")
            ids.append((await queue_message(session, runtime.settings, box, lead)).message_id)
    return ids


async def _unsent(runtime: Runtime) -> int:
    async with runtime.db.sessions() as session:
        left = await session.scalar(
            select(func.count()).where(Message.status != MessageStatus.sent)
        )
    return int(left or 0)


async def _restart_mid_run(
    drill: Drill,
    process: Popen[bytes],
    mode: str,
    during_outage: Callable[[], Awaitable[None]] | None = None,
) -> None:
    smtp, figures = drill.smtp, drill.figures

    async def some_sent() -> bool:
        return len(smtp.messages) >= COUNT // 4

    await wait_for(some_sent, timeout=90, what="a quarter of the messages", interval=0.05)
    figures["sent_before_outage"] = len(smtp.messages)
    await asyncio.to_thread(drill.pg.stop, mode)
    down = time.monotonic()
    if during_outage is not None:
        await during_outage()
    await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - down)))
    figures["sent_during_outage"] = len(smtp.messages) - int(figures["sent_before_outage"])
    await asyncio.to_thread(drill.pg.start)
    back = time.monotonic()
    figures["outage_s"] = round(back - down, 2)
    at_back = len(smtp.messages)

    async def resumed() -> bool:
        return len(smtp.messages) > at_back

    await wait_for(resumed, timeout=90, what="sending to resume", interval=0.05)
    figures["resumed_after_s"] = round(time.monotonic() - back, 2)

    async def all_sent() -> bool:
        return await _unsent(drill.runtime) == 0

    await wait_for(all_sent, timeout=180, what="every message to be sent", interval=0.5)
    figures["all_sent_after_s"] = round(time.monotonic() - back, 2)
    assert process.poll() is None, "the process exited: " + drill.log.read_text()[-3000:]


def _assert_nothing_lost_nothing_twice(drill: Drill) -> None:
    received = Counter(str(m.message["Message-ID"]) for m in drill.smtp.messages)
    assert set(received) == set(drill.message_ids), "lost messages"
    twice = {message_id: n for message_id, n in received.items() if n > 1}
    assert not twice, f"sent twice: {twice}"
    drill.figures["received"] = sum(received.values())


def _assert_the_worker_came_back_by_itself(log: Path) -> None:
    text = log.read_text()
    assert "worker.interrupted" in text or "worker.waiting_for_database" in text, text[-3000:]
    assert text.count('"worker.start"') >= 2, text[-3000:]


@pytest.fixture(params=["embedded", "debian"])
async def drill(
    request: pytest.FixtureRequest, tmp_path: Path, settings: Settings
) -> AsyncIterator[Drill]:
    """A migrated PostgreSQL of the test's own holding COUNT queued messages for a mailbox that
    sends to a recording SMTP server."""
    kind: str = request.param
    with (
        restartable_postgres(kind, tmp_path / "pg") as pg,
        SmtpTestServer(delay=0.02, record_dir=tmp_path / "caught") as smtp,
    ):
        runtime = Runtime(settings, connect(settings, url=pg.url))
        try:
            ids = await _queue(runtime, smtp)
            yield Drill(kind, pg, runtime, smtp, ids, tmp_path / "process.log")
        finally:
            await runtime.aclose()


def _env(drill: Drill, tmp_path: Path) -> dict[str, str]:
    return leadflood_env(
        drill.pg.url,
        tmp_path / "data",
        SENDING_BATCH_SIZE="20",
        SENDING_RECONCILE_SECONDS="5",
        SENDING_RETRY_BASE_SECONDS="1",
        WORKER_STALE_SECONDS="5",
    )


async def test_a_worker_rides_out_a_postgresql_restart(drill: Drill, tmp_path: Path) -> None:
    worker = start(["worker", "--concurrency", "2"], _env(drill, tmp_path), drill.log)
    try:
        await _restart_mid_run(drill, worker, STOP_MODE[drill.kind])
    finally:
        stop(worker)
    _assert_nothing_lost_nothing_twice(drill)
    _assert_the_worker_came_back_by_itself(drill.log)
    print(f"\nworker drill, {drill.pg.kind}: {drill.figures}")


# `leadflood up` against the embedded server only: the worker inside it is the same code, and
# each drill adds half a minute to the suite.
@pytest.mark.parametrize("drill", ["embedded"], indirect=True)
async def test_up_rides_out_a_postgresql_restart_and_ready_tells(
    drill: Drill, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    up = start(["up", "--port", str(port)], _env(drill, tmp_path), drill.log)
    seen: list[int] = []

    async def ready_status() -> int:
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                return (await client.get(f"{base}/ready")).status_code
        except httpx.TransportError:
            return 0

    async def ready() -> bool:
        return await ready_status() == 200

    async def watch_ready() -> None:
        for _ in range(8):
            seen.append(await ready_status())
            await asyncio.sleep(0.25)

    try:
        await wait_for(ready, timeout=60, what="/ready to answer 200")
        await _restart_mid_run(drill, up, STOP_MODE[drill.kind], during_outage=watch_ready)
        await wait_for(ready, timeout=60, what="/ready to answer 200 again")
    finally:
        stop(up)
    assert seen and set(seen) == {503}, seen
    _assert_nothing_lost_nothing_twice(drill)
    _assert_the_worker_came_back_by_itself(drill.log)
    print(f"\nup drill, {drill.pg.kind}: {drill.figures}")


async def test_up_starts_again_a_worker_that_gave_up(tmp_path: Path) -> None:
    """The database stays away longer than the worker waits: the worker inside `up` gives up,
    `up` logs it and starts it again, and it runs once the database is back."""
    port = free_port()
    log = tmp_path / "up.log"
    with restartable_postgres("embedded", tmp_path / "pg") as pg:
        env = leadflood_env(
            pg.url, tmp_path / "data", WORKER_DATABASE_WAIT_SECONDS="1", WORKER_STALE_SECONDS="5"
        )
        up = start(["up", "--port", str(port)], env, log)

        async def ready() -> bool:
            try:
                async with httpx.AsyncClient(timeout=10) as client:
                    response = await client.get(f"http://127.0.0.1:{port}/ready")
            except httpx.TransportError:
                return False
            return response.status_code == 200

        async def gave_up_and_restarting() -> bool:
            return '"worker.restarting"' in log.read_text()

        try:
            await wait_for(ready, timeout=60, what="/ready to answer 200")
            await asyncio.to_thread(pg.stop)
            await wait_for(gave_up_and_restarting, timeout=60, what="the worker to be restarted")
            await asyncio.to_thread(pg.start)
            await wait_for(ready, timeout=60, what="/ready to answer 200 again")
            assert up.poll() is None
        finally:
            stop(up)
    text = log.read_text()
    assert "WorkerGaveUp" in text and "WORKER_DATABASE_WAIT_SECONDS=1" in text
    assert text.count('"worker.start"') >= 2

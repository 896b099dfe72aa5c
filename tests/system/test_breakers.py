"""Circuit breakers: state in PostgreSQL shared by every worker, one probe after the cool-down,
and the delivery engine failing fast (no transport call) while a mailbox's breaker is open."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from leadflood.db.engine import Database, connect
from leadflood.models import Breaker, Mailbox, Message, MessageStatus
from leadflood.providers.base import PermanentProviderError, TemporaryProviderError
from leadflood.providers.email import ResendSender
from leadflood.runtime import Runtime
from leadflood.sending import delivery
from leadflood.system import breakers
from tests.factories import make_lead, make_mailbox, make_workspace, queue_message

POLICY = breakers.Policy(failures=3, cool_down=timedelta(seconds=60))
# Gates record their failures at the real time; the tests look from there.
T0 = datetime.now(UTC)


def _down(code: str = "503") -> TemporaryProviderError:
    return TemporaryProviderError("resend answered HTTP 503", provider="resend", code=code)


@pytest.fixture
async def second_worker(runtime: Runtime, database_url: str) -> AsyncIterator[Database]:
    """Another process's handle on the same database: its own engine and connections."""
    other = connect(runtime.settings, url=database_url)
    yield other
    await other.dispose()


async def _state(db: Database) -> Breaker | None:
    async with db.sessions() as session:
        return await breakers.state_of(session, "resend", "box-1")


async def test_failures_open_the_breaker_for_every_worker(runtime, second_worker) -> None:
    a, b = runtime.db.engine, second_worker.engine
    start = datetime.now(UTC)
    for i in range(POLICY.failures):
        gate = await breakers.enter(a, "resend", "box-1", POLICY, now=T0)
        state = await gate.failure(a, _down())
        assert state == (breakers.OPEN if i == POLICY.failures - 1 else breakers.CLOSED)

    with pytest.raises(breakers.BreakerOpen) as fast:
        await breakers.enter(b, "resend", "box-1", POLICY, now=start + timedelta(seconds=20))
    assert fast.value.code == "breaker_open" and fast.value.temporary
    assert fast.value.retry_after == pytest.approx(40, abs=2)
    row = await _state(second_worker)
    assert row is not None and row.state == "open" and row.failures == 3
    assert row.last_error is not None and "503" in row.last_error
    # Another account of the same provider is not affected.
    assert (await breakers.enter(b, "resend", "box-2", POLICY, now=T0)).clean


async def test_one_probe_after_the_cool_down_reopens_or_closes(runtime, second_worker) -> None:
    a, b = runtime.db.engine, second_worker.engine
    for _ in range(POLICY.failures):
        await (await breakers.enter(a, "resend", "box-1", POLICY, now=T0)).failure(a, _down())
    after = datetime.now(UTC) + timedelta(seconds=61)

    probe = await breakers.enter(a, "resend", "box-1", POLICY, now=after)
    assert probe.probe
    with pytest.raises(breakers.BreakerOpen):  # the other worker does not probe as well
        await breakers.enter(b, "resend", "box-1", POLICY, now=after)
    assert await probe.failure(a, _down("timeout")) == breakers.OPEN
    row = await _state(runtime.db)
    assert row is not None and row.state == "open"
    assert row.opened_until is not None and row.opened_until > datetime.now(UTC)

    later = datetime.now(UTC) + timedelta(seconds=61)
    probe = await breakers.enter(b, "resend", "box-1", POLICY, now=later)
    assert probe.probe
    await probe.success(b)
    row = await _state(runtime.db)
    assert row is not None and (row.state, row.failures, row.opened_until) == ("closed", 0, None)
    assert (await breakers.enter(a, "resend", "box-1", POLICY, now=later)).clean


async def test_a_dead_probe_is_replaced_after_its_lease(runtime, second_worker) -> None:
    a, b = runtime.db.engine, second_worker.engine
    for _ in range(POLICY.failures):
        await (await breakers.enter(a, "resend", "box-1", POLICY, now=T0)).failure(a, _down())
    start = datetime.now(UTC)
    assert (
        await breakers.enter(a, "resend", "box-1", POLICY, now=start + timedelta(seconds=61))
    ).probe
    with pytest.raises(breakers.BreakerOpen):  # the probe is out
        await breakers.enter(b, "resend", "box-1", POLICY, now=start + timedelta(seconds=90))
    # Worker a died with its probe out; once the lease is over, b probes.
    assert (
        await breakers.enter(b, "resend", "box-1", POLICY, now=start + timedelta(seconds=200))
    ).probe


async def test_permanent_errors_and_successes_reset_the_count(runtime) -> None:
    a = runtime.db.engine
    gate = await breakers.enter(a, "resend", "box-1", POLICY, now=T0)
    await gate.failure(a, _down())
    await gate.failure(a, _down())
    bad_request = PermanentProviderError("invalid to", provider="resend", code="422")
    assert await gate.failure(a, bad_request) == breakers.CLOSED
    row = await _state(runtime.db)
    assert row is not None and row.failures == 0
    for _ in range(POLICY.failures - 1):
        await gate.failure(a, _down())
    assert (await _state(runtime.db)).state == "closed"  # type: ignore[union-attr]


async def test_delivery_fails_fast_while_the_mailbox_breaker_is_open(runtime: Runtime) -> None:
    settings = runtime.settings.model_copy(
        update={"breaker_failures": 3, "breaker_cool_down_seconds": 120, "sending_connections": 1}
    )
    calls: list[httpx.Request] = []
    status = {"code": 503}

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if status["code"] != 200:
            return httpx.Response(status["code"], json={"message": "unavailable"})
        return httpx.Response(200, json={"id": f"re_{len(calls)}"})

    def factory(mailbox: Mailbox, config: dict[str, object]) -> ResendSender:
        return ResendSender("re_key", rate_per_second=1000, transport=httpx.MockTransport(handle))

    async with runtime.db.session() as session:
        ws = await make_workspace(session, "Acme")
        box = await make_mailbox(
            session, ws.id, provider="resend", secret="re_key", settings=settings
        )
        for i in range(6):
            lead = await make_lead(session, ws.id, email=f"lead{i}@example.com")
            await queue_message(session, settings, box, lead)

    async def due_now() -> None:
        async with runtime.db.session() as session:
            await session.execute(update(Message).values(send_after=func.now()))
            await session.execute(update(Mailbox).values(next_send_at=None))

    report = await delivery.deliver_mailbox(runtime.db, settings, box.id, sender_factory=factory)
    assert report.temporary == 3 and len(calls) == 3  # the third failure opened it: stop
    async with runtime.db.sessions() as session:
        row = await breakers.state_of(session, "resend", str(box.id))
    assert row is not None and row.state == "open"

    await due_now()
    report = await delivery.deliver_mailbox(runtime.db, settings, box.id, sender_factory=factory)
    assert report.paused == pytest.approx(120, abs=5) and report.claimed == 0
    assert len(calls) == 3  # no call reached the provider
    async with runtime.db.sessions() as session:
        waits_until = await session.scalar(select(Mailbox.next_send_at).where(Mailbox.id == box.id))
        statuses = set(await session.scalars(select(Message.status)))
    assert waits_until is not None and waits_until > datetime.now(UTC) + timedelta(seconds=100)
    assert statuses == {MessageStatus.queued}

    # The cool-down is over and the provider is back: one probe, then the rest of the batch.
    async with runtime.db.session() as session:
        await session.execute(
            update(Breaker).values(opened_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    await due_now()
    status["code"] = 200
    report = await delivery.deliver_mailbox(runtime.db, settings, box.id, sender_factory=factory)
    assert report.sent == 6 and len(calls) == 9
    async with runtime.db.sessions() as session:
        row = await breakers.state_of(session, "resend", str(box.id))
    assert row is not None and (row.state, row.failures) == ("closed", 0)

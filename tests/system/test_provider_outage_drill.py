"""The provider-outage drill: a sending provider (Resend, behind httpx.MockTransport) times out
on every call for "a minute", scaled down to a few seconds with the breaker settings
(BREAKER_FAILURES=3, BREAKER_COOL_DOWN_SECONDS=0.5). The delivery engine keeps running the whole
time; the breaker opens after three timeouts, and from then on no call reaches the provider
except one probe per cool-down, so no worker sits in timeouts. When the provider is back a probe
closes the breaker and every message is sent once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
from sqlalchemy import func, select, update

from leadflood.models import Mailbox, Message, MessageStatus
from leadflood.providers.email import ResendSender
from leadflood.runtime import Runtime
from leadflood.sending import delivery
from leadflood.system import breakers
from tests.factories import make_lead, make_mailbox, make_workspace, queue_message

FAILURES = 3
COOL_DOWN = 0.5
OUTAGE = 3.0  # seconds: "a minute" at this scale
MESSAGES = 20


async def test_a_provider_down_for_a_minute_opens_the_breaker_then_a_probe_closes_it(
    runtime: Runtime,
) -> None:
    settings = runtime.settings.model_copy(
        update={
            "breaker_failures": FAILURES,
            "breaker_cool_down_seconds": COOL_DOWN,
            "sending_connections": 1,
            "sending_retry_base_seconds": 0.05,
            "sending_retry_max_seconds": 0.1,
        }
    )
    down_until = time.monotonic() + OUTAGE
    calls: Counter[str] = Counter()
    accepted: Counter[str] = Counter()

    def provider(request: httpx.Request) -> httpx.Response:
        if time.monotonic() < down_until:
            calls["during outage"] += 1
            raise httpx.ReadTimeout("no answer within the client's timeout", request=request)
        calls["after"] += 1
        key = request.headers["Idempotency-Key"]
        accepted[key] += 1
        return httpx.Response(200, json={"id": f"re_{key}"})

    def factory(mailbox: Mailbox, config: dict[str, object]) -> ResendSender:
        return ResendSender("re_key", rate_per_second=1000, transport=httpx.MockTransport(provider))

    async with runtime.db.session() as session:
        ws = await make_workspace(session, "Outage")
        box = await make_mailbox(
            session, ws.id, provider="resend", secret="re_key", settings=settings,
            daily_cap=MESSAGES,
        )  # fmt: skip
        for i in range(MESSAGES):
            lead = await make_lead(session, ws.id, email=f"lead{i}@example.com")
            await queue_message(session, settings, box, lead)

    async def state() -> str | None:
        async with runtime.db.sessions() as session:
            row = await breakers.state_of(session, "resend", str(box.id))
        return row.state if row else None

    async def unsent() -> int:
        async with runtime.db.sessions() as session:
            return int(
                await session.scalar(
                    select(func.count()).where(Message.status != MessageStatus.sent)
                )
                or 0
            )

    # The engine runs as a worker would, again and again, the mailbox always due: what stops
    # the calls is the breaker alone.
    runs = fast_fails = 0
    seen: list[str | None] = []
    deadline = time.monotonic() + OUTAGE + 20
    while await unsent() and time.monotonic() < deadline:
        async with runtime.db.session() as session:
            await session.execute(update(Message).values(send_after=func.now()))
            await session.execute(update(Mailbox).values(next_send_at=None))
        before = sum(calls.values())
        report = await delivery.deliver_mailbox(
            runtime.db, settings, box.id, sender_factory=factory
        )
        runs += 1
        if time.monotonic() < down_until and report.paused and sum(calls.values()) == before:
            fast_fails += 1
        seen.append(await state())
        await asyncio.sleep(0.05)

    assert await unsent() == 0, f"{await unsent()} messages left after the outage"
    assert "open" in seen and seen[-1] == "closed"
    # While the provider was down: the first FAILURES timeouts, then at most one probe per
    # cool-down (and one more at its edge), however often the engine ran.
    probes = int(OUTAGE / COOL_DOWN) + 1
    assert calls["during outage"] <= FAILURES + probes, calls
    assert fast_fails >= 1, f"none of {runs} runs failed fast during the outage"
    # Back up: every message reached the provider exactly once, and the breaker is clean.
    assert len(accepted) == MESSAGES and max(accepted.values()) == 1
    async with runtime.db.sessions() as session:
        row = await breakers.state_of(session, "resend", str(box.id))
    assert row is not None and (row.state, row.failures) == ("closed", 0)

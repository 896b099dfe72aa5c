"""The flaky-server drill: a real `leadflood worker` sends a few hundred sequence messages to an
SMTP server on 127.0.0.1 that answers RCPT TO with a 4xx for 20% of the recipients and a 5xx
for 2% (which ones is decided by a seed). Every 4xx is delivered later, by the engine's retry
(its back-off shortened by SENDING_RETRY_BASE_SECONDS); every 5xx is suppressed and its
enrollment stopped; nothing arrives twice and nothing is left unsettled."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from leadflood.models import (
    DeliveryAttempt,
    Enrollment,
    EnrollmentState,
    Message,
    MessageStatus,
    Suppression,
)
from leadflood.runtime import Runtime
from tests.factories import (
    make_bare_sequence,
    make_enrollment,
    make_lead,
    make_mailbox,
    make_workspace,
    queue_message,
)
from tests.support.processes import leadflood_env, start, stop, wait_for
from tests.support.smtp_server import SmtpTestServer

pytestmark = pytest.mark.slow
MESSAGES = 300
SEED = 20261206
TEMPORARY, PERMANENT = 0.20, 0.02


def first_answer(address: str) -> str | None:
    """The server's answer to an address's first RCPT TO: deterministic per seed and address."""
    roll = random.Random(f"{SEED}:{address}").random()
    if roll < PERMANENT:
        return "550 5.1.1 User unknown"
    if roll < PERMANENT + TEMPORARY:
        return "451 4.2.1 Mailbox busy, try again later"
    return None


def rule(address: str, nth: int) -> str | None:
    return first_answer(address) if nth == 1 else None


async def test_four_hundreds_are_delivered_later_and_five_hundreds_suppressed(
    runtime: Runtime, database_url: str, tmp_path: Path
) -> None:
    addresses = [f"lead{i}@prospect.example" for i in range(MESSAGES)]
    answers = {a: first_answer(a) for a in addresses}
    temporary = {a for a, r in answers.items() if r and r.startswith("4")}
    permanent = {a for a, r in answers.items() if r and r.startswith("5")}
    # The seed gives a real mix (about 60 and 6 of 300): the drill tests both paths.
    assert len(temporary) >= 40 and len(permanent) >= 2

    with SmtpTestServer() as smtp:
        smtp.answer_recipients(rule)
        async with runtime.db.session() as session:
            ws = await make_workspace(session, "Drill")
            box = await make_mailbox(
                session, ws.id, from_email="sam@sender.example", config=smtp.config(),
                daily_cap=2 * MESSAGES,  # refused attempts count against the cap too
            )  # fmt: skip
            sequence, (step,) = await make_bare_sequence(session, ws.id)
            for address in addresses:
                lead = await make_lead(session, ws.id, email=address, first_name="Ann")
                enrollment = await make_enrollment(session, ws.id, sequence.id, lead.id)
                await queue_message(
                    session, runtime.settings, box, lead, enrollment=enrollment, step=step
                )

        env = leadflood_env(
            database_url,
            tmp_path / "data",
            SENDING_RETRY_BASE_SECONDS="0.5",
            SENDING_RETRY_MAX_SECONDS="1",
            LOG_LEVEL="warning",
        )
        worker = start(["worker", "--concurrency", "2"], env, tmp_path / "worker.log")
        try:
            statuses: dict[str, int] = {}

            async def settled() -> bool:
                async with runtime.db.sessions() as session:
                    rows = await session.execute(
                        select(Message.status, func.count())
                        .where(Message.mailbox_id == box.id)
                        .group_by(Message.status)
                    )
                    statuses.clear()
                    statuses.update({status.value: count for status, count in rows})
                return not statuses.get("queued") and not statuses.get("sending")

            try:
                await wait_for(settled, timeout=50, what="every message settled", interval=0.3)
            except AssertionError as exc:
                raise AssertionError(f"{exc}: {statuses}") from None
        finally:
            stop(worker)
        received = Counter(r for m in smtp.messages for r in m.rcpt_tos)

    async with runtime.db.sessions() as session:
        rows = (
            await session.execute(
                select(Message.to_address, Message.status, Message.attempts, Enrollment.state,
                       Enrollment.stop_reason)
                .join(Enrollment, Enrollment.id == Message.enrollment_id)
                .where(Message.mailbox_id == box.id)
            )
        ).all()  # fmt: skip
        attempts = Counter(
            (
                await session.execute(
                    select(Message.to_address, DeliveryAttempt.classification).join(
                        Message, Message.id == DeliveryAttempt.message_id
                    )
                )
            ).all()
        )
        suppressed = set(
            (
                await session.scalars(
                    select(Suppression.value).where(
                        Suppression.workspace_id == ws.id, Suppression.reason == "bounced"
                    )
                )
            ).all()
        )
    by_address = {row.to_address: row for row in rows}
    assert len(by_address) == MESSAGES
    assert max(received.values()) == 1, "a message reached the server twice"
    assert set(received) == set(addresses) - permanent
    assert suppressed == permanent
    for address, row in by_address.items():
        if address in permanent:
            assert row.status == MessageStatus.bounced, address
            assert (row.state, row.stop_reason) == (EnrollmentState.stopped, "bounced")
            assert attempts[(address, "recipient_rejected")] == 1
        elif address in temporary:
            assert row.status == MessageStatus.sent and row.attempts == 2, address
            assert attempts[(address, "temporary")] == 1 and attempts[(address, "sent")] == 1
            assert row.state != EnrollmentState.stopped
        else:
            assert row.status == MessageStatus.sent and row.attempts == 1, address
            assert row.state != EnrollmentState.stopped

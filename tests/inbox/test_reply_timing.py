"""Whatever the moment a reply is ingested — before delivery starts, or while any of the batch's
messages is on the wire, over one or two connections — no step of the replied enrollment starts
its attempt after the reply has been recorded (the start mark re-checks the enrollment)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import select

from leadflood.inbox import process, store
from leadflood.models import Enrollment, EnrollmentState, Message, MessageStatus
from leadflood.runtime import Runtime
from leadflood.sending import delivery
from tests.factories import (
    make_bare_sequence,
    make_enrollment,
    make_lead,
    make_mailbox,
    make_workspace,
    queue_message,
    reply_mail,
)
from tests.support.smtp_server import SmtpTestServer


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    leads=st.integers(2, 5),
    replier=st.integers(0, 4),
    moment=st.integers(0, 5),
    connections=st.sampled_from([1, 2]),
)
async def test_no_step_leaves_after_the_reply_is_ingested(
    runtime: Runtime, smtp: SmtpTestServer, leads: int, replier: int, moment: int, connections: int
) -> None:
    replier %= leads
    async with runtime.db.session() as session:
        ws = await make_workspace(session, f"Timing {uuid.uuid4().hex[:6]}")
        box = await make_mailbox(
            session, ws.id, from_email=f"sam-{uuid.uuid4().hex[:6]}@sender.example",
            daily_cap=1000, config=smtp.config(),
        )  # fmt: skip
        sequence, (first, second) = await make_bare_sequence(session, ws.id, steps=2)
        rows = []
        for i in range(leads):
            lead = await make_lead(session, ws.id, email=f"t{i}-{uuid.uuid4().hex[:6]}@p.example")
            enrollment = await make_enrollment(session, ws.id, sequence.id, lead.id)
            earlier = await queue_message(
                session, runtime.settings, box, lead, enrollment=enrollment, step=first
            )
            earlier.status, earlier.sent_at = MessageStatus.sent, datetime.now(UTC)
            nxt = await queue_message(
                session, runtime.settings, box, lead, enrollment=enrollment, step=second
            )
            rows.append((lead, enrollment, earlier, nxt))
    lead, enrollment, earlier, nxt = rows[replier]
    raw = reply_mail(earlier.message_id, "Thanks, we are interested.", sender=lead.email)
    ingested: list[datetime] = []

    async def reply() -> None:
        async with runtime.db.session() as session:
            mail = store.RawMail(raw=raw, folder="INBOX", uidvalidity=1, uid=1, delivered_at=None)
            await process.ingest(session, ws.id, [mail], source="imap", mailbox_id=box.id)
        ingested.append(datetime.now(UTC))

    sends = 0
    real = delivery.default_sender

    class ReplyDuringSend:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        async def send(self, email: Any) -> Any:
            nonlocal sends
            sends += 1
            if sends == moment and not ingested:
                await reply()
            return await self.inner.send(email)

        async def aclose(self) -> None:
            await self.inner.aclose()

    if moment == 0:
        await reply()
    chosen = runtime.settings.model_copy(update={"sending_connections": connections})
    await delivery.deliver_mailbox(
        runtime.db, chosen, box.id,
        sender_factory=lambda m, c: ReplyDuringSend(real(m, c)),  # type: ignore[arg-type,return-value]
    )  # fmt: skip
    if not ingested:
        await reply()
    async with runtime.db.session() as session:
        row = await session.get(Message, nxt.id)
        state = await session.scalar(select(Enrollment.state).where(Enrollment.id == enrollment.id))
    assert row is not None and state == EnrollmentState.stopped
    note(f"status {row.status}, started {row.sending_started_at}, ingested {ingested[0]}")
    if row.sending_started_at is not None:
        assert row.sending_started_at <= ingested[0], "a step started after the reply"
    else:
        assert row.status in (MessageStatus.cancelled, MessageStatus.queued, MessageStatus.sent)
        assert row.status != MessageStatus.sent

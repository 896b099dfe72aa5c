"""Delivery invariants as properties: Hypothesis generates recipients, suppressions, TEST_MODE and
what the SMTP server answers to each send (250, 4xx, 5xx, rejected recipient, dropped link), and
the engine runs until nothing is left to retry. Each example uses a fresh workspace and mailbox
in the test's database and counts only its own messages at the server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from leadflood.models import DeliveryAttempt, Message, MessageStatus, Suppression
from leadflood.runtime import Runtime
from leadflood.sending import delivery
from leadflood.sending.reconcile import reconcile_stale
from leadflood.suppressions import service as suppression
from tests.factories import (
    POSTAL,
    make_bare_sequence,
    make_enrollment,
    make_lead,
    make_mailbox,
    make_workspace,
    queue_message,
)
from tests.support.smtp_server import SmtpTestServer

ANSWERS = st.sampled_from(["ok", "451", "452rcpt", "554", "drop_data", "drop_mail"])
TEST_RECIPIENTS = ["qa@leadflood.test"]


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, object]:
    size = draw(st.integers(1, 6))
    recipients = [f"p{i}@{draw(st.sampled_from(['a.example', 'b.example']))}" for i in range(size)]
    return {
        "recipients": recipients,
        "suppressed": draw(st.sets(st.sampled_from(recipients))),
        "suppress_domain": draw(st.booleans()),
        "rejected": draw(st.sets(st.sampled_from(recipients))),
        "answers": draw(st.lists(ANSWERS, max_size=10)),
        "test_mode": draw(st.booleans()),
    }


def _plan(smtp: SmtpTestServer, answers: list[str]) -> None:
    smtp.clear_plans()
    for answer in answers:
        if answer == "ok":
            smtp.pass_next(stage="DATA")
        elif answer == "451":
            smtp.fail_next(code=451, text="4.3.0 later", stage="DATA")
        elif answer == "452rcpt":
            smtp.fail_next(code=452, text="4.2.2 mailbox full", stage="RCPT")
        elif answer == "554":
            smtp.fail_next(code=554, text="5.7.1 refused", stage="DATA")
        elif answer == "drop_data":
            smtp.drop_next(stage="DATA")
        else:
            smtp.drop_next(stage="MAIL")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=scenarios())
async def test_delivery_invariants(
    runtime: Runtime, smtp: SmtpTestServer, case: dict[str, object]
) -> None:
    recipients: list[str] = case["recipients"]  # type: ignore[assignment]
    suppressed: set[str] = case["suppressed"]  # type: ignore[assignment]
    rejected: set[str] = case["rejected"]  # type: ignore[assignment]
    test_mode = bool(case["test_mode"])
    runtime.settings.test_mode = test_mode
    runtime.settings.test_recipients = TEST_RECIPIENTS if test_mode else []
    smtp._rejected.clear()
    for address in rejected:
        smtp.reject_recipient(TEST_RECIPIENTS[0] if test_mode else address)
    async with runtime.db.session() as session:
        # Global entries would leak into the next example.
        await session.execute(delete(Suppression).where(Suppression.workspace_id.is_(None)))
        ws = await make_workspace(session, "Acme")
        box = await make_mailbox(
            session,
            ws.id,
            from_email="sam@sender.example",
            daily_cap=10_000,
            config=smtp.config(timeout=2),
        )
        sequence, (step,) = await make_bare_sequence(session, ws.id)
        for address in recipients:
            lead = await make_lead(session, ws.id, email=address)
            enrollment = await make_enrollment(session, ws.id, sequence.id, lead.id)
            await queue_message(
                session,
                runtime.settings,
                box,
                lead,
                enrollment=enrollment,
                step=step,
                with_unsubscribe=address.startswith("p1"),
            )
        for address in suppressed:
            await suppression.add(session, ws.id, "email", address, "unsubscribed", "test")
        if case["suppress_domain"]:
            await suppression.add(session, None, "domain", "b.example", "do_not_contact", "t")
    blocked = suppressed | (
        {r for r in recipients if r.endswith("@b.example")} if case["suppress_domain"] else set()
    )
    _plan(smtp, case["answers"])  # type: ignore[arg-type]
    try:
        for _ in range(12):
            await delivery.deliver_mailbox(runtime.db, runtime.settings, box.id)
            smtp.clear_plans()
            later = datetime.now(UTC) + timedelta(days=1)
            async with runtime.db.session() as session:
                await reconcile_stale(session, runtime.settings, later)
                await session.execute(
                    update(Message)
                    .where(Message.mailbox_id == box.id, Message.status == MessageStatus.queued)
                    .values(send_after=datetime.now(UTC))
                )
                left = await session.scalar(
                    select(Message.id)
                    .where(
                        Message.mailbox_id == box.id,
                        Message.status.in_([MessageStatus.queued, MessageStatus.sending]),
                    )
                    .limit(1)
                )
            if left is None:
                break
        async with runtime.db.session() as session:
            rows = list(await session.scalars(select(Message).where(Message.mailbox_id == box.id)))
            attempted = dict(
                (
                    await session.execute(
                        select(DeliveryAttempt.message_id, DeliveryAttempt.classification).where(
                            DeliveryAttempt.classification.in_(["sent", "reconciled_sent"])
                        )
                    )
                ).all()
            )
    finally:
        runtime.settings.test_mode = False
        runtime.settings.test_recipients = []
    ours = {m.message_id: m for m in rows}
    received = [m for m in smtp.messages if m.message["Message-ID"] in ours]
    ids = [m.message["Message-ID"] for m in received]
    # 5: no Message-ID twice, and (the catcher can be asked) exactly the `sent` ones arrived.
    assert len(ids) == len(set(ids))
    assert set(ids) == {mid for mid, m in ours.items() if m.status == MessageStatus.sent}
    # No `sent` without an attempt: each sent message was started and has the attempt that
    # delivered it (or the reconciler's finding at the server).
    for m in rows:
        if m.status == MessageStatus.sent:
            assert m.sending_started_at is not None and m.id in attempted
    # 6: nothing lost or stuck: every message ended, none is left queued or sending.
    assert {m.status for m in rows} <= {
        MessageStatus.sent,
        MessageStatus.bounced,
        MessageStatus.failed,
        MessageStatus.cancelled,
    }
    for item in received:
        original = ours[item.message["Message-ID"]].to_address
        # 1: never to a suppressed address or domain.
        assert original not in blocked
        # 7: TEST_MODE sends only to the test recipients.
        if test_mode:
            assert item.rcpt_tos == TEST_RECIPIENTS
            assert item.message["Subject"].startswith(f"[TEST → {original}]")
        else:
            assert item.rcpt_tos == [original]
        # 8: unsubscribe headers and the footer's postal address on every email.
        assert "/u/" in item.message["List-Unsubscribe"]
        assert item.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert POSTAL in item.message.get_content()
    for message in rows:
        note(f"{case} {message.to_address} {message.status} {message.error}")
        if message.to_address in blocked:
            assert message.status == MessageStatus.cancelled
        elif message.to_address in rejected and not test_mode:
            assert message.status == MessageStatus.bounced
        elif message.status == MessageStatus.failed:
            assert "554" in (message.error or "") or test_mode

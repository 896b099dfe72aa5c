from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from leadflood.models import Enrollment, EnrollmentState, Message, MessageStatus
from leadflood.runtime import Runtime
from leadflood.sending import delivery
from leadflood.suppressions import service as suppression
from leadflood.suppressions import unsubscribe
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


def test_headers_and_footer(runtime: Runtime) -> None:
    settings = runtime.settings
    headers = unsubscribe.headers(settings, "tok_abcdefghijklmnopqrstuv", mailto="u@x.example")
    assert headers == {
        "List-Unsubscribe": (
            "<http://127.0.0.1:8000/u/tok_abcdefghijklmnopqrstuv>, "
            "<mailto:u@x.example?subject=unsubscribe-tok_abcdefghijklmnopqrstuv>"
        ),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    text, html = unsubscribe.footer(settings, "tok_abcdefghijklmnopqrstuv", "1 Main St\nTown")
    assert "1 Main St\nTown" in text and "/u/tok_abcdefghijklmnopqrstuv" in text
    assert "1 Main St<br>Town" in html and 'href="http://127.0.0.1:8000/u/' in html


async def _two_step_lead(runtime: Runtime, smtp: SmtpTestServer) -> dict[str, Any]:
    async with runtime.db.session() as session:
        ws = await make_workspace(session, "Acme")
        box = await make_mailbox(
            session, ws.id, from_email="sam@sender.example", daily_cap=10_000, config=smtp.config()
        )
        sequence, (first, second) = await make_bare_sequence(session, ws.id, steps=2)
        other_sequence, (_other_step,) = await make_bare_sequence(session, ws.id)
        lead = await make_lead(session, ws.id, email="Ann@Example.com")
        enrollment = await make_enrollment(session, ws.id, sequence.id, lead.id)
        other = await make_enrollment(session, ws.id, other_sequence.id, lead.id)
        sent = await queue_message(
            session, runtime.settings, box, lead, enrollment=enrollment, step=first
        )
        token = await unsubscribe.issue_token(session, ws.id, lead.id, "Ann@Example.com")
    await delivery.deliver_mailbox(runtime.db, runtime.settings, box.id)
    async with runtime.db.session() as session:
        later = await queue_message(
            session, runtime.settings, box, lead, enrollment=enrollment, step=second
        )
    return {
        "ws": ws,
        "box": box,
        "lead": lead,
        "token": token,
        "sent": sent,
        "later": later,
        "enrollment": enrollment,
        "other": other,
    }


async def test_get_shows_a_page_and_does_not_unsubscribe(
    runtime: Runtime, anon_client: httpx.AsyncClient, smtp: SmtpTestServer
) -> None:
    case = await _two_step_lead(runtime, smtp)
    response = await anon_client.get(f"/u/{case['token']}")
    assert response.status_code == 200
    assert "Unsubscribe?" in response.text and 'method="post"' in response.text
    async with runtime.db.session() as session:
        assert await suppression.reason_for(session, case["ws"].id, email="ann@example.com") is None
    assert (await anon_client.get("/u/not-a-real-token-at-all-xyz")).status_code == 404


async def test_one_click_post_unsubscribes_at_once_and_later_steps_never_leave(
    runtime: Runtime, anon_client: httpx.AsyncClient, smtp: SmtpTestServer
) -> None:
    case = await _two_step_lead(runtime, smtp)
    response = await anon_client.post(
        f"/u/{case['token']}",
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200 and "You are unsubscribed" in response.text
    async with runtime.db.session() as session:
        ws_id = case["ws"].id
        assert await suppression.reason_for(session, ws_id, email="ann@example.com") == (
            "unsubscribed"
        )
        states = {
            e.id: (e.state, e.stop_reason)
            for e in await session.scalars(
                select(Enrollment).where(Enrollment.workspace_id == ws_id)
            )
        }
        later = await session.get(Message, case["later"].id)
    assert set(states.values()) == {(EnrollmentState.stopped, "unsubscribed")}
    assert later is not None and later.status == MessageStatus.cancelled
    await delivery.deliver_mailbox(runtime.db, runtime.settings, case["box"].id)
    assert [m.message["Message-ID"] for m in smtp.messages] == [case["sent"].message_id]
    again = await anon_client.post(f"/u/{case['token']}")
    assert again.status_code == 200


async def test_mailto_unsubscribe(runtime: Runtime, smtp: SmtpTestServer) -> None:
    case = await _two_step_lead(runtime, smtp)
    async with runtime.db.session() as session:
        assert await unsubscribe.unsubscribe_by_mail(session, "Re: hello") is None
        done = await unsubscribe.unsubscribe_by_mail(session, f"unsubscribe-{case['token']}")
        assert done is not None and done.enrollments_stopped == 2
        assert done.messages_cancelled == 1
    assert POSTAL

from __future__ import annotations

import httpx

from leadflood.runtime import Runtime
from leadflood.sending import delivery
from tests.factories import make_lead, make_mailbox, queue_message
from tests.support.accounts import Account
from tests.support.smtp_server import SmtpTestServer


async def test_outbox_lists_messages_and_shows_headers(
    client: httpx.AsyncClient, runtime: Runtime, owner: Account, smtp: SmtpTestServer
) -> None:
    empty = await client.get("/outbox")
    assert empty.status_code == 200 and "Nothing has been queued yet" in empty.text
    async with runtime.db.session() as session:
        box = await make_mailbox(
            session,
            owner.workspace_id,
            from_email="sam@sender.example",
            daily_cap=10_000,
            config=smtp.config(),
        )
        lead = await make_lead(session, owner.workspace_id, email="ann@example.com")
        message = await queue_message(session, runtime.settings, box, lead, subject="Hello Ann")
    await delivery.deliver_mailbox(runtime.db, runtime.settings, box.id)
    page = await client.get("/outbox")
    assert "Hello Ann" in page.text and "ann@example.com" in page.text
    assert 'data-status="sent"' in page.text
    detail = await client.get(f"/outbox/{message.id}")
    assert detail.status_code == 200
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in detail.text
    assert message.message_id.replace("<", "&lt;").replace(">", "&gt;") in detail.text
    runtime.settings.test_mode = True
    try:
        assert "Test mode is on" in (await client.get("/outbox")).text
    finally:
        runtime.settings.test_mode = False

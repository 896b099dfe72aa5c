from __future__ import annotations

import httpx

from leadflood.runtime import Runtime
from leadflood.sending import delivery
from tests.factories import make_lead, make_mailbox, queue_message
from tests.support.accounts import Account
from tests.support.smtp_server import SmtpTestServer


async def test_messages_api_lists_and_shows_attempts(
    client: httpx.AsyncClient, runtime: Runtime, owner: Account, smtp: SmtpTestServer
) -> None:
    async with runtime.db.session() as session:
        box = await make_mailbox(
            session,
            owner.workspace_id,
            from_email="sam@sender.example",
            daily_cap=10_000,
            config=smtp.config(),
        )
        lead = await make_lead(session, owner.workspace_id)
        for _ in range(3):
            await queue_message(session, runtime.settings, box, lead)
    await delivery.deliver_mailbox(runtime.db, runtime.settings, box.id)
    page = await client.get("/v1/messages", params={"limit": 2, "status": "sent"})
    assert page.status_code == 200
    assert len(page.json()["items"]) == 2 and page.json()["next_cursor"]
    rest = await client.get("/v1/messages", params={"cursor": page.json()["next_cursor"]})
    assert len(rest.json()["items"]) == 1
    first = page.json()["items"][0]
    detail = (await client.get(f"/v1/messages/{first['id']}")).json()
    assert detail["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert [a["classification"] for a in detail["delivery_attempts"]] == ["sent"]
    assert (await client.get(f"/v1/messages/{lead.id}")).status_code == 404

from __future__ import annotations

from typing import Any

import httpx

from leadflood.runtime import Runtime
from leadflood.sending import delivery
from tests.factories import make_lead, queue_message
from tests.support.accounts import Account
from tests.support.smtp_server import SmtpTestServer


def _smtp_body(server: SmtpTestServer, **extra: Any) -> dict[str, Any]:
    return {
        "name": "Sales",
        "provider": "smtp",
        "from_email": "sam@sender.example",
        "from_name": "Sam",
        "host": server.host,
        "port": server.port,
        "tls_mode": "none",
        "username": server.username,
        "password": server.password,
        "daily_cap": 40,
        "timezone": "Europe/London",
        "window": {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"},
        **extra,
    }


async def test_smtp_mailbox_is_checked_and_secrets_never_returned(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    with SmtpTestServer(username="sam", password="s3cret") as server:
        bad = await client.post("/v1/mailboxes", json=_smtp_body(server, password="wrong"))
        assert bad.status_code == 422
        assert bad.json()["error"]["code"] == "mailbox_check_failed"
        assert "rejected" in bad.json()["error"]["message"]
        created = await client.post("/v1/mailboxes", json=_smtp_body(server))
        assert created.status_code == 201, created.text
        assert server.auth_attempts[-1] == ("sam", True)
    body = created.json()
    assert body["has_secret"] is True and "s3cret" not in created.text
    assert body["settings"] == {"host": "127.0.0.1", "port": server.port, "tls_mode": "none",
                                "username": "sam"}  # fmt: skip
    listed = await client.get("/v1/mailboxes")
    (item,) = listed.json()
    assert item["health"]["cap_today"] == 40 and item["health"]["sent_today"] == 0
    assert "s3cret" not in listed.text
    paused = await client.post(f"/v1/mailboxes/{body['id']}/pause")
    assert paused.json()["state"] == "paused"
    resumed = await client.post(f"/v1/mailboxes/{body['id']}/resume")
    assert resumed.json()["state"] == "active"
    patched = await client.patch(f"/v1/mailboxes/{body['id']}", json={"daily_cap": 5})
    assert patched.json()["daily_cap"] == 5
    invalid = await client.patch(
        f"/v1/mailboxes/{body['id']}", json={"window": {"days": [9], "start": "x"}}
    )
    assert invalid.status_code == 422


async def test_http_mailbox_needs_a_key_and_viewers_cannot_create(
    client: httpx.AsyncClient, make_user: Any, owner: Account, app: Any
) -> None:
    body = {"name": "R", "provider": "resend", "from_email": "a@b.example"}
    assert (await client.post("/v1/mailboxes", json=body)).status_code == 422
    made = await client.post("/v1/mailboxes", json=body | {"api_key": "re_x"})
    assert made.status_code == 201 and "re_x" not in made.text
    viewer = await make_user(role="viewer", workspace=owner.workspace_id)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=viewer.headers
    ) as as_viewer:
        assert (await as_viewer.get("/v1/mailboxes")).status_code == 200
        denied = await as_viewer.post("/v1/mailboxes", json=body | {"api_key": "re_y"})
        assert denied.status_code == 403


async def test_messages_api_lists_and_shows_attempts(
    client: httpx.AsyncClient, runtime: Runtime, owner: Account, smtp: SmtpTestServer
) -> None:
    from tests.factories import make_mailbox

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

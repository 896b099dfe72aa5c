from __future__ import annotations

from typing import Any

import httpx

from leadflood.runtime import Runtime
from tests.factories import make_lead, queue_message
from tests.support.accounts import Account
from tests.support.smtp_server import SmtpTestServer


def _smtp_body(server: SmtpTestServer, **extra: Any) -> dict[str, Any]:
    return {
        "name": "Sales",
        "provider": "smtp",
        "from_email": "sam@sender.example",
        "host": server.host,
        "port": server.port,
        "tls_mode": "none",
        "username": server.username,
        "password": server.password,
        "daily_cap": 30,
        **extra,
    }


def _as(app: Any, account: Account) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers=account.headers,
    )


async def test_check_logs_in_again_and_reports_what_to_fix(client: httpx.AsyncClient) -> None:
    with SmtpTestServer(username="sam", password="s3cret") as server:
        created = await client.post("/v1/mailboxes", json=_smtp_body(server))
        assert created.status_code == 201, created.text
        mailbox_id = created.json()["id"]
        ok = await client.post(f"/v1/mailboxes/{mailbox_id}/check")
        assert ok.status_code == 200 and ok.json()["ok"] is True
        assert server.auth_attempts[-1] == ("sam", True)
        server.password = "rotated"
        broken = (await client.post(f"/v1/mailboxes/{mailbox_id}/check")).json()
        assert broken["ok"] is False and "rejected" in broken["error"]
        assert "s3cret" not in str(broken)
    down = (await client.post(f"/v1/mailboxes/{mailbox_id}/check")).json()
    assert down["ok"] is False and down["error"]


async def test_health_counts_todays_sends_against_the_cap(
    client: httpx.AsyncClient, runtime: Runtime, owner: Account
) -> None:
    made = await client.post(
        "/v1/mailboxes",
        json={
            "name": "R",
            "provider": "resend",
            "from_email": "a@b.example",
            "api_key": "re_x",
            "daily_cap": 30,
        },
    )
    mailbox_id = made.json()["id"]
    health = (await client.get(f"/v1/mailboxes/{mailbox_id}/health")).json()
    assert health == {"sent_today": 0, "remaining_today": 30, "cap_today": 30,
                      "bounce_rate_7d": None, "bounce_rate_last_100": None, "last_error": None,
                      "state": "active", "breaker": None}  # fmt: skip
    from leadflood.models import Mailbox, MessageStatus

    async with runtime.db.session() as session:
        box = await session.get(Mailbox, made.json()["id"])
        assert box is not None
        lead = await make_lead(session, owner.workspace_id)
        message = await queue_message(session, runtime.settings, box, lead)
        message.status = MessageStatus.sent
        message.sent_at = message.send_after
    health = (await client.get(f"/v1/mailboxes/{mailbox_id}/health")).json()
    assert health["sent_today"] == 1 and health["remaining_today"] == 29
    assert health["bounce_rate_last_100"] == 0.0


async def test_health_shows_the_mailboxs_open_breaker(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    from leadflood.providers.base import TemporaryProviderError
    from leadflood.system import breakers

    made = await client.post(
        "/v1/mailboxes",
        json={"name": "R", "provider": "resend", "from_email": "a@b.example", "api_key": "re_x"},
    )
    mailbox_id = made.json()["id"]
    engine = runtime.db.engine
    gate = await breakers.enter(engine, "resend", mailbox_id, breakers.Policy(failures=1))
    await gate.failure(engine, TemporaryProviderError("HTTP 503", provider="resend", code="503"))

    breaker = (await client.get(f"/v1/mailboxes/{mailbox_id}/health")).json()["breaker"]

    assert breaker["state"] == "open" and breaker["failures"] == 1
    assert breaker["opened_until"] and "HTTP 503" in breaker["last_error"]


async def test_dns_answers_found_missing_or_unknown_never_an_error(
    client: httpx.AsyncClient,
) -> None:
    made = await client.post(
        "/v1/mailboxes",
        json={
            "name": "R",
            "provider": "postmark",
            "api_key": "pm",
            "from_email": "sam@example.org",
            "dkim_selector": "lf",
        },
    )
    response = await client.get(f"/v1/mailboxes/{made.json()['id']}/dns")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["domain"] == "example.org"
    for record in ("spf", "dmarc", "dkim"):
        assert body[record]["status"] in {"ok", "missing", "unknown", "invalid"}
    shown = (await client.get(f"/v1/mailboxes/{made.json()['id']}")).json()
    assert shown["dns_checks"]["domain"] == "example.org"
    # One DNS endpoint: the former POST .../dns-check is gone.
    gone = await client.post(f"/v1/mailboxes/{made.json()['id']}/dns-check")
    assert gone.status_code in {404, 405}


async def test_roles_and_workspaces(
    client: httpx.AsyncClient, app: Any, owner: Account, other_workspace: Account, make_user: Any
) -> None:
    made = await client.post(
        "/v1/mailboxes",
        json={
            "name": "R",
            "provider": "resend",
            "from_email": "a@b.example",
            "api_key": "re_x",
        },
    )
    mailbox_id = made.json()["id"]
    viewer = await make_user(role="viewer", workspace=owner.workspace_id)
    async with _as(app, viewer) as as_viewer:
        assert (await as_viewer.get(f"/v1/mailboxes/{mailbox_id}/health")).status_code == 200
        assert (await as_viewer.get(f"/v1/mailboxes/{mailbox_id}/dns")).status_code == 200
        assert (await as_viewer.post(f"/v1/mailboxes/{mailbox_id}/check")).status_code == 403
    async with _as(app, other_workspace) as theirs:
        for method, path in [
            ("post", f"/v1/mailboxes/{mailbox_id}/check"),
            ("get", f"/v1/mailboxes/{mailbox_id}/health"),
            ("get", f"/v1/mailboxes/{mailbox_id}/dns"),
        ]:
            response = await theirs.request(method, path)
            assert response.status_code == 404, (path, response.text)
            assert response.json()["error"]["code"] == "mailbox_not_found"


def _smtp_body_with_window(server: SmtpTestServer, **extra: Any) -> dict[str, Any]:
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
        bad = await client.post(
            "/v1/mailboxes", json=_smtp_body_with_window(server, password="wrong")
        )
        assert bad.status_code == 422
        assert bad.json()["error"]["code"] == "mailbox_check_failed"
        assert "rejected" in bad.json()["error"]["message"]
        created = await client.post("/v1/mailboxes", json=_smtp_body_with_window(server))
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

"""The security baseline: headers, body limits, rate limits, the append-only audit log and
encrypted provider credentials."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from leadflood.auth import credentials
from leadflood.auth.crypto import keyring
from tests.support.accounts import Account


async def test_every_response_carries_the_security_headers(
    client: httpx.AsyncClient, anon_client: httpx.AsyncClient
) -> None:
    for response in (
        await client.get("/v1/leads"),
        await anon_client.get("/login"),
        await anon_client.get("/v1/leads"),
        await anon_client.get("/static/app.css"),
        await anon_client.get("/health"),
    ):
        csp = response.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


async def test_cors_only_for_configured_origins(app: Any, runtime: Any) -> None:
    runtime.settings.cors_origins = ["https://app.example"]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        preflight = {"access-control-request-method": "GET"}
        allowed = await c.options(
            "/v1/leads", headers={"origin": "https://app.example", **preflight}
        )
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        other = await c.get("/health", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


async def test_bodies_over_the_limit_are_413(client: httpx.AsyncClient, runtime: Any) -> None:
    limit = runtime.settings.max_request_bytes
    big = {"email": "a@b.co", "first_name": "x" * (limit + 10)}
    response = await client.post("/v1/leads", json=big)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"

    async def chunks() -> Any:
        for _ in range(limit // 1000 + 2):
            yield b"x" * 1000

    chunked = await client.post(
        "/v1/leads", content=chunks(), headers={"content-type": "application/json"}
    )
    assert chunked.status_code == 413


async def test_page_sizes_are_capped(client: httpx.AsyncClient) -> None:
    for path in ("/v1/leads", "/v1/audit-events"):
        assert (await client.get(path, params={"limit": 201})).status_code == 422


async def test_login_brute_force_is_limited_per_account_and_per_ip(
    anon_client: httpx.AsyncClient, owner: Account, runtime: Any
) -> None:
    per_account = runtime.settings.login_attempts_per_account
    for _ in range(per_account):
        wrong = await anon_client.post(
            "/v1/auth/login", json={"email": owner.email, "password": "guess-guess"}
        )
        assert wrong.status_code == 401
    blocked = await anon_client.post(
        "/v1/auth/login", json={"email": owner.email, "password": owner.password}
    )
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "rate_limited"
    assert 0 < int(blocked.headers["retry-after"]) <= runtime.settings.login_window_seconds

    runtime.settings.login_attempts_per_ip = 3
    codes = []
    for i in range(3):
        response = await anon_client.post(
            "/v1/auth/login", json={"email": f"u{i}@example.com", "password": "guess-guess"}
        )
        codes.append(response.status_code)
    assert codes[-1] == 429


async def test_refresh_is_rate_limited(anon_client: httpx.AsyncClient, runtime: Any) -> None:
    runtime.settings.login_attempts_per_ip = 1
    codes = [
        (await anon_client.post("/v1/auth/refresh", json={"refresh_token": "nope"})).status_code
        for _ in range(5)
    ]
    assert codes[:4] == [401] * 4 and codes[4] == 429


async def test_api_keys_have_a_request_budget(client: httpx.AsyncClient, runtime: Any) -> None:
    runtime.settings.api_key_requests_per_minute = 3
    codes = [(await client.get("/v1/leads")).status_code for _ in range(4)]
    assert codes[:3] == [200, 200, 200]
    assert codes[3] in (200, 429)  # a minute boundary may fall in between
    if codes[3] == 200:
        codes = [(await client.get("/v1/leads")).status_code for _ in range(4)]
        assert 429 in codes


async def test_the_audit_log_refuses_update_delete_and_truncate(
    client: httpx.AsyncClient, runtime: Any
) -> None:
    assert (await client.post("/v1/api-keys", json={"name": "x"})).status_code == 201
    for statement in (
        "UPDATE audit_events SET action = 'nothing'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ):
        with pytest.raises(Exception, match="append-only"):
            async with runtime.db.session() as session:
                await session.execute(text(statement))
    events = (await client.get("/v1/audit-events")).json()["items"]
    # The fixture's own key first, then the one made above through the API with that key.
    assert [e["action"] for e in events] == ["api_key.created", "api_key.created"]
    assert events[0]["actor"].startswith("API key lf_") and events[0]["ip"] == "127.0.0.1"


async def test_credentials_are_encrypted_never_returned_and_rotate(
    client: httpx.AsyncClient, runtime: Any, owner: Account
) -> None:
    put = await client.put("/v1/credentials/hunter", json={"secret": "hunter-key-123"})
    assert put.status_code == 200 and "hunter-key-123" not in put.text
    listed = await client.get("/v1/credentials")
    assert "hunter-key-123" not in listed.text and listed.json()[0]["provider"] == "hunter"
    async with runtime.db.sessions() as session:
        stored = await session.scalar(text("SELECT ciphertext FROM provider_credentials"))
    assert "hunter-key-123" not in stored

    old = keyring(runtime.settings).keys[0].decode()
    new = Fernet.generate_key().decode()
    runtime.settings.encryption_keys = [new, old]
    async with runtime.db.session() as session:
        assert (
            await credentials.get_secret(session, owner.workspace_id, "hunter") == "hunter-key-123"
        )
        assert await credentials.rotate(session) == 1
    runtime.settings.encryption_keys = [new]
    async with runtime.db.session() as session:
        assert (
            await credentials.get_secret(session, owner.workspace_id, "hunter") == "hunter-key-123"
        )
        assert await credentials.get_secret(session, owner.workspace_id, "apollo") is None
    assert (await client.delete("/v1/credentials/hunter")).status_code == 204
    assert (await client.delete("/v1/credentials/hunter")).status_code == 404
    events = (await client.get("/v1/audit-events")).json()["items"]
    actions = [e["action"] for e in events if e["action"].startswith("credential.")]
    assert actions == ["credential.deleted", "credential.created"]

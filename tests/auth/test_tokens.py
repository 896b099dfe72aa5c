"""API sign-in: access JWTs, rotating refresh tokens, logout and sessions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from sqlalchemy import text

from leadflood.auth.tokens import derive_key, issue_access_token, issuer
from tests.support.accounts import Account


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_login_gives_a_short_lived_typed_token_that_works(
    anon_client: httpx.AsyncClient, owner: Account, login: Any, runtime: Any
) -> None:
    tokens = await login(owner)
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 15 * 60
    assert tokens["workspace_id"] == str(owner.workspace_id)
    header = jwt.get_unverified_header(tokens["access_token"])
    assert header == {"alg": "HS256", "typ": "at+jwt"}
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["aud"] == "leadflood-api" and claims["iss"] == issuer(runtime.settings)
    assert claims["exp"] - claims["iat"] == 15 * 60
    me = await anon_client.get("/v1/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json()["user"]["email"] == owner.email
    assert "password_hash" not in me.text


async def test_wrong_password_is_401_and_audited(
    anon_client: httpx.AsyncClient, owner: Account, client: httpx.AsyncClient
) -> None:
    response = await anon_client.post(
        "/v1/auth/login", json={"email": owner.email, "password": "not the password"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"
    unknown = await anon_client.post(
        "/v1/auth/login", json={"email": "nobody@example.com", "password": "whatever12"}
    )
    assert unknown.json()["error"]["code"] == "invalid_credentials"
    events = (await client.get("/v1/audit-events", params={"action": "auth.login_failed"})).json()
    assert [e["actor"] for e in events["items"]] == [owner.email]


async def test_refresh_rotates_and_reuse_revokes_the_whole_family(
    anon_client: httpx.AsyncClient, owner: Account, login: Any, client: httpx.AsyncClient
) -> None:
    first = await login(owner)
    second = await anon_client.post(
        "/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert second.status_code == 200
    pair = second.json()
    assert pair["refresh_token"] != first["refresh_token"]
    third = await anon_client.post(
        "/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    assert third.status_code == 200
    latest = third.json()
    assert (
        await anon_client.get("/v1/auth/me", headers=bearer(latest["access_token"]))
    ).status_code == 200

    reused = await anon_client.post(
        "/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "refresh_token_reused"
    # Every token of the family is dead now: the newest refresh token and the access token.
    after = await anon_client.post(
        "/v1/auth/refresh", json={"refresh_token": latest["refresh_token"]}
    )
    assert after.status_code == 401
    assert (
        await anon_client.get("/v1/auth/me", headers=bearer(latest["access_token"]))
    ).status_code == 401
    events = (
        await client.get("/v1/audit-events", params={"action": "auth.refresh_token_reused"})
    ).json()
    assert len(events["items"]) == 1
    # Another session of the same user is not affected.
    other = await login(owner)
    assert (
        await anon_client.get("/v1/auth/me", headers=bearer(other["access_token"]))
    ).status_code == 200


def _forge(runtime: Any, **changes: Any) -> str:
    now = datetime.now(UTC)
    claims = {
        "iss": issuer(runtime.settings),
        "aud": "leadflood-api",
        "sub": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "typ": "access",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }
    key = changes.pop("key", derive_key(runtime.settings, "jwt"))
    algorithm = changes.pop("algorithm", "HS256")
    claims.update(changes)
    return jwt.encode(claims, key, algorithm=algorithm, headers={"typ": "at+jwt"})


async def test_expired_tampered_and_foreign_tokens_are_refused(
    anon_client: httpx.AsyncClient, owner: Account, login: Any, runtime: Any
) -> None:
    tokens = await login(owner)
    good = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    expired, _ = issue_access_token(
        runtime.settings,
        user_id=uuid.UUID(good["sub"]),
        session_id=uuid.UUID(good["sid"]),
        now=datetime.now(UTC) - timedelta(hours=1),
    )
    head, payload, signature = tokens["access_token"].split(".")
    tampered = f"{head}.{payload}.{signature[:-4]}AAAA"
    same = {"sub": good["sub"], "sid": good["sid"]}
    cases = {
        "token_expired": expired,
        "invalid_token": tampered,
    }
    for code, token in cases.items():
        response = await anon_client.get("/v1/leads", headers=bearer(token))
        assert response.status_code == 401, code
        assert response.json()["error"]["code"] == code
    for token in (
        _forge(runtime, aud="someone-else", **same),
        _forge(runtime, iss="https://evil.example", **same),
        _forge(runtime, typ="refresh", **same),
        _forge(runtime, key=b"another key entirely, 32 bytes!!", **same),
        jwt.encode({**good, "exp": good["exp"] + 60}, "", algorithm="none"),
        "not-a-jwt",
    ):
        response = await anon_client.get("/v1/leads", headers=bearer(token))
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_token"
    assert (
        await anon_client.get("/v1/leads", headers=bearer(_forge(runtime, **same)))
    ).status_code == 200


async def test_logout_ends_the_session_and_sessions_can_be_listed_and_revoked(
    anon_client: httpx.AsyncClient, owner: Account, login: Any
) -> None:
    one = await login(owner)
    two = await login(owner)
    listed = (
        await anon_client.get("/v1/auth/sessions", headers=bearer(one["access_token"]))
    ).json()
    assert len(listed) == 2 and sum(s["current"] for s in listed) == 1
    other_id = next(s["id"] for s in listed if not s["current"])
    revoked = await anon_client.delete(
        f"/v1/auth/sessions/{other_id}", headers=bearer(one["access_token"])
    )
    assert revoked.status_code == 204
    assert (
        await anon_client.get("/v1/auth/me", headers=bearer(two["access_token"]))
    ).status_code == 401
    assert (
        await anon_client.post("/v1/auth/refresh", json={"refresh_token": two["refresh_token"]})
    ).status_code == 401

    out = await anon_client.post("/v1/auth/logout", headers=bearer(one["access_token"]))
    assert out.status_code == 204
    assert (
        await anon_client.get("/v1/auth/me", headers=bearer(one["access_token"]))
    ).status_code == 401


async def test_api_keys_are_shown_once_stored_hashed_and_revocable(
    client: httpx.AsyncClient, anon_client: httpx.AsyncClient, runtime: Any
) -> None:
    created = (await client.post("/v1/api-keys", json={"name": "ci", "role": "viewer"})).json()
    secret = created["secret"]
    assert secret.startswith(created["api_key"]["prefix"]) and secret.startswith("lf_")
    listed = (await client.get("/v1/api-keys")).json()
    assert secret not in str(listed)
    async with runtime.db.sessions() as session:
        stored = await session.scalar(text("SELECT string_agg(key_hash, ',') FROM api_keys"))
    assert secret not in stored
    for headers in ({"X-API-Key": secret}, bearer(secret)):
        assert (await anon_client.get("/v1/leads", headers=headers)).status_code == 200
    viewer_write = await anon_client.post(
        "/v1/leads", json={"email": "a@b.co"}, headers=bearer(secret)
    )
    assert viewer_write.status_code == 403
    used = next(
        k for k in (await client.get("/v1/api-keys")).json() if k["id"] == created["api_key"]["id"]
    )
    assert used["last_used_at"] is not None
    assert (await client.delete(f"/v1/api-keys/{created['api_key']['id']}")).status_code == 204
    assert (await anon_client.get("/v1/leads", headers={"X-API-Key": secret})).status_code == 401
    assert (await anon_client.get("/v1/leads")).status_code == 401


async def test_workspace_switching_with_a_header(
    anon_client: httpx.AsyncClient, owner: Account, make_user: Any, login: Any
) -> None:
    second = await make_user(email=owner.email, workspace="Second client", role="viewer")
    tokens = await login(owner)
    headers = bearer(tokens["access_token"])
    current = (await anon_client.get("/v1/workspaces/current", headers=headers)).json()
    assert current["workspace"]["id"] == str(owner.workspace_id) and current["role"] == "owner"
    headers["X-Workspace-Id"] = str(second.workspace_id)
    current = (await anon_client.get("/v1/workspaces/current", headers=headers)).json()
    assert current["workspace"]["name"] == "Second client" and current["role"] == "viewer"
    assert (
        await anon_client.post("/v1/leads", json={"email": "a@b.co"}, headers=headers)
    ).status_code == 403
    mine = (await anon_client.get("/v1/workspaces", headers=headers)).json()
    assert {w["workspace"]["name"] for w in mine} == {"Acme", "Second client"}


async def test_the_demo_account_signs_in_through_the_api(
    anon_client: httpx.AsyncClient, runtime: Any
) -> None:
    # The README's demo sign-in lives on `.local`, a domain email validators refuse.
    from leadflood.demo import account as demo

    async with runtime.db.session() as session:
        await demo.seed(session)
    answer = await anon_client.post(
        "/v1/auth/login",
        json={"email": demo.DEMO_EMAIL.upper(), "password": demo.DEMO_PASSWORD},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["token_type"] == "bearer"

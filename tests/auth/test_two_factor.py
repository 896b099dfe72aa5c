"""Optional TOTP two-factor sign-in, the sessions a user sees and ends, and the lock-out the
sign-in page warns about."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pyotp

from leadflood.runtime import Runtime
from tests.support.accounts import Account, browser_login, csrf_of


def next_code(secret: str) -> str:
    """The code of the next time step: accepted (one step of drift), and not the one used at
    enrolment, which is refused as a replay."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"authorization": f"Bearer {tokens['access_token']}"}


async def enrol(anon_client: httpx.AsyncClient, tokens: dict[str, Any]) -> tuple[str, list[str]]:
    setup = await anon_client.post("/v1/auth/totp/setup", headers=bearer(tokens))
    assert setup.status_code == 200, setup.text
    secret = setup.json()["secret"]
    assert setup.json()["otpauth_uri"].startswith("otpauth://totp/Lead%20Flood:")
    wrong = await anon_client.post(
        "/v1/auth/totp/enable", headers=bearer(tokens), json={"code": "000000"}
    )
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "totp_invalid"
    enabled = await anon_client.post(
        "/v1/auth/totp/enable", headers=bearer(tokens), json={"code": pyotp.TOTP(secret).now()}
    )
    assert enabled.status_code == 200, enabled.text
    codes = enabled.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    return secret, codes


async def test_totp_enrolment_then_sign_in_asks_for_the_code(
    anon_client: httpx.AsyncClient, owner: Account, login: Any, runtime: Runtime
) -> None:
    tokens = await login(owner)
    secret, codes = await enrol(anon_client, tokens)
    me = (await anon_client.get("/v1/auth/me", headers=bearer(tokens))).json()["user"]
    assert me["totp_enabled_at"] is not None

    credentials = {"email": owner.email, "password": owner.password}
    bare = await anon_client.post("/v1/auth/login", json=credentials)
    assert bare.status_code == 401 and bare.json()["error"]["code"] == "totp_required"
    wrong = await anon_client.post("/v1/auth/login", json={**credentials, "totp_code": "123456"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "totp_invalid"
    right = await anon_client.post(
        "/v1/auth/login", json={**credentials, "totp_code": next_code(secret)}
    )
    assert right.status_code == 200, right.text
    replayed = await anon_client.post(
        "/v1/auth/login", json={**credentials, "totp_code": next_code(secret)}
    )
    assert replayed.status_code == 401 and replayed.json()["error"]["code"] == "totp_invalid"

    # A recovery code works once.
    recovered = await anon_client.post(
        "/v1/auth/login", json={**credentials, "totp_code": codes[0].upper()}
    )
    assert recovered.status_code == 200
    reused = await anon_client.post("/v1/auth/login", json={**credentials, "totp_code": codes[0]})
    assert reused.status_code == 401

    # Turning it off needs a code.
    no = await anon_client.post(
        "/v1/auth/totp/disable", headers=bearer(right.json()), json={"code": "999999"}
    )
    assert no.status_code == 401
    off = await anon_client.post(
        "/v1/auth/totp/disable", headers=bearer(right.json()), json={"code": codes[1]}
    )
    assert off.status_code == 204
    assert (await anon_client.post("/v1/auth/login", json=credentials)).status_code == 200
    events = (await anon_client.get("/v1/audit-events", headers=owner.headers)).json()["items"]
    actions = {e["action"] for e in events}
    assert {"auth.totp_enabled", "auth.totp_disabled", "auth.totp_failed"} <= actions


async def test_the_browser_sign_in_asks_for_the_code_on_a_second_step(
    anon_client: httpx.AsyncClient, owner: Account, login: Any
) -> None:
    secret, _ = await enrol(anon_client, await login(owner))
    page = await anon_client.get("/login")
    step = await anon_client.post(
        "/login",
        data={"email": owner.email, "password": owner.password, "csrf_token": csrf_of(page.text)},
    )
    assert step.status_code == 200 and "authenticator app" in step.text
    assert "lf_session" not in anon_client.cookies
    challenge = re.search(r'name="challenge" value="([^"]+)"', step.text)
    assert challenge
    form = {"challenge": challenge.group(1), "csrf_token": csrf_of(step.text), "next": "/leads"}
    wrong = await anon_client.post("/login/two-factor", data={**form, "code": "000000"})
    assert wrong.status_code == 401 and "not valid" in wrong.text
    done = await anon_client.post("/login/two-factor", data={**form, "code": next_code(secret)})
    assert done.status_code == 303 and done.headers["location"] == "/leads"
    assert "lf_session" in anon_client.cookies
    # The step's token is spent with the sign-in.
    again = await anon_client.post(
        "/login/two-factor", data={**form, "code": pyotp.TOTP(secret).at(time.time() + 60)}
    )
    assert again.status_code == 400 and "took too long" in again.text


async def test_the_security_page_enrols_with_a_qr_code_and_shows_recovery_codes_once(
    anon_client: httpx.AsyncClient, owner: Account
) -> None:
    await browser_login(anon_client, owner)
    page = await anon_client.get("/settings/sessions", headers={"accept": "text/html"})
    assert "Set up two-factor sign-in" in page.text
    started = await anon_client.post(
        "/settings/security/totp/start", data={"csrf_token": csrf_of(page.text)}
    )
    assert 'src="data:image/svg+xml' in started.text
    secret = re.search(r'class="totp-secret">([A-Z2-7]+)<', started.text)
    assert secret
    confirmed = await anon_client.post(
        "/settings/security/totp/confirm",
        data={"code": pyotp.TOTP(secret.group(1)).now(), "csrf_token": csrf_of(started.text)},
    )
    assert confirmed.status_code == 200
    codes = re.findall(r"<li><code>([0-9a-f]{6}-[0-9a-f]{6})</code></li>", confirmed.text)
    assert len(codes) == 10
    later = await anon_client.get("/settings/sessions", headers={"accept": "text/html"})
    assert "10 recovery codes left" in later.text and codes[0] not in later.text


async def test_sessions_are_listed_and_all_others_revoked(
    anon_client: httpx.AsyncClient, owner: Account, login: Any
) -> None:
    first, second, _third = [await login(owner) for _ in range(3)]
    listed = (await anon_client.get("/v1/auth/sessions", headers=bearer(first))).json()
    assert len(listed) == 3 and sum(s["current"] for s in listed) == 1
    assert all(s["created_at"] and "user_agent" in s and "ip" in s for s in listed)
    ended = await anon_client.delete("/v1/auth/sessions", headers=bearer(first))
    assert ended.status_code == 200 and ended.json() == {"revoked": 2}
    left = (await anon_client.get("/v1/auth/sessions", headers=bearer(first))).json()
    assert [s["current"] for s in left] == [True]
    gone = await anon_client.post(
        "/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert gone.status_code == 401


async def test_the_sign_in_page_warns_before_the_lock_out_and_says_when_it_lifts(
    anon_client: httpx.AsyncClient, owner: Account, runtime: Runtime
) -> None:
    runtime.settings.login_attempts_per_account = 4
    page = await anon_client.get("/login")
    form = {"email": owner.email, "password": "wrong password", "csrf_token": csrf_of(page.text)}
    first = await anon_client.post("/login", data=form)
    assert first.status_code == 401 and "3 attempts left before sign-in is locked" in first.text
    second = await anon_client.post("/login", data=form)
    assert "2 attempts left" in second.text
    await anon_client.post("/login", data=form)
    last = await anon_client.post("/login", data=form)
    assert "Sign-in is now locked" in last.text
    locked = await anon_client.post("/login", data={**form, "password": owner.password})
    assert locked.status_code == 429
    assert re.search(r"locked until \d\d:\d\d UTC \(in \d+ minutes?\)", locked.text), locked.text
    api = await anon_client.post(
        "/v1/auth/login", json={"email": owner.email, "password": owner.password}
    )
    assert api.status_code == 429 and api.json()["error"]["details"]["locked_until"]

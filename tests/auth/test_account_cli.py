"""`leadflood users reset-password | sessions | disable-2fa`: an owner's way back in from the
shell, with or without a system mailbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pyotp

from leadflood.demo.catcher import DemoSmtpCatcher, ensure_demo_mailbox
from leadflood.runtime import Runtime
from tests.support.accounts import Account
from tests.support.processes import run_cli

NEW_PASSWORD = "set from the shell 1"


async def test_without_mail_an_owner_sets_the_password_and_every_session_ends(
    tmp_path: Path, database_url: str, anon_client: httpx.AsyncClient, owner: Account, login: Any
) -> None:
    tokens = await login(owner)
    mailed = run_cli(tmp_path, database_url, "users", "reset-password", owner.email)
    assert mailed.returncode == 1
    assert "system_mail_not_configured" in mailed.stderr and "--password-stdin" in mailed.stderr

    listed = run_cli(tmp_path, database_url, "users", "sessions", owner.email, "--json")
    assert listed.returncode == 0, listed.stderr
    assert [row["kind"] for row in json.loads(listed.stdout)] == ["api"]

    short = run_cli(
        tmp_path, database_url, "users", "reset-password", owner.email, "--password-stdin",
        stdin="short\n",
    )  # fmt: skip
    assert short.returncode == 2 and "10+ characters" in short.stderr
    done = run_cli(
        tmp_path, database_url, "users", "reset-password", owner.email, "--password-stdin",
        stdin=NEW_PASSWORD + "\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "1 session(s) signed out" in done.stdout
    gone = await anon_client.post(
        "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert gone.status_code == 401
    owner.password = NEW_PASSWORD
    await login(owner)
    nobody = run_cli(tmp_path, database_url, "users", "reset-password", "no@such.example")
    assert nobody.returncode == 1 and "No user has the email" in nobody.stderr


async def test_the_reset_link_goes_through_the_demo_catcher_from_the_shell(
    tmp_path: Path, database_url: str, runtime: Runtime, owner: Account
) -> None:
    catcher = DemoSmtpCatcher(tmp_path / "demo_inbox")
    catcher.start()
    try:
        async with runtime.db.session() as session:
            await ensure_demo_mailbox(session, owner.workspace_id, catcher.port, catcher.directory)
        sent = run_cli(tmp_path, database_url, "users", "reset-password", owner.email)
        assert sent.returncode == 0, sent.stderr
        assert "demo catcher" in sent.stdout
        (mail,) = catcher.received()
        assert b"/reset-password/" in mail.read_bytes()
    finally:
        catcher.stop()


async def test_sessions_revoked_and_two_factor_turned_off_from_the_shell(
    tmp_path: Path, database_url: str, anon_client: httpx.AsyncClient, owner: Account, login: Any
) -> None:
    tokens = await login(owner)
    await login(owner)
    bearer = {"authorization": f"Bearer {tokens['access_token']}"}
    secret = (await anon_client.post("/v1/auth/totp/setup", headers=bearer)).json()["secret"]
    enabled = await anon_client.post(
        "/v1/auth/totp/enable", headers=bearer, json={"code": pyotp.TOTP(secret).now()}
    )
    assert enabled.status_code == 200
    ended = run_cli(tmp_path, database_url, "users", "sessions", owner.email, "--revoke-all")
    assert ended.returncode == 0 and "out of 2 session(s)" in ended.stdout, ended.stderr
    credentials = {"email": owner.email, "password": owner.password}
    asked = await anon_client.post("/v1/auth/login", json=credentials)
    assert asked.json()["error"]["code"] == "totp_required"
    off = run_cli(tmp_path, database_url, "users", "disable-2fa", owner.email)
    assert off.returncode == 0 and "turned off" in off.stdout, off.stderr
    assert (await anon_client.post("/v1/auth/login", json=credentials)).status_code == 200
    again = run_cli(tmp_path, database_url, "users", "disable-2fa", owner.email)
    assert "had it off already" in again.stdout

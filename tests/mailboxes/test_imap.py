"""A mailbox's IMAP settings through the API, the CLI and the pages: checked by a real login
against Dovecot when saved (a bad one is refused with a stable code and nothing is saved), the
password never shown, the sync status per folder, and "sync now"."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from leadflood.models import AuditEvent, Mailbox
from leadflood.runtime import Runtime
from tests.factories import make_lead
from tests.inbox.test_sync import reply
from tests.support.accounts import Account
from tests.support.dovecot import DovecotServer
from tests.support.jobs import drain, job_rows
from tests.support.processes import run_cli
from tests.support.smtp_server import SmtpTestServer


def _body(dovecot: DovecotServer, user: str, **imap: Any) -> dict[str, Any]:
    return {
        "name": "Replies",
        "provider": "resend",
        "from_email": "sam@sender.example",
        "api_key": "re_test",
        "imap": dovecot.imap_settings(user) | imap,
    }


async def test_saved_only_after_a_real_login_and_the_password_never_shown(
    client: httpx.AsyncClient, dovecot: DovecotServer, imap_user: str, runtime: Runtime
) -> None:
    password = dovecot.passwords[imap_user]
    wrong = await client.post("/v1/mailboxes", json=_body(dovecot, imap_user, password="nope"))
    assert wrong.status_code == 422, wrong.text
    error = wrong.json()["error"]
    assert error["code"] == "imap_login_failed"
    assert "password" in error["message"] and error["details"]["field"] == "imap.password"
    assert (await client.get("/v1/mailboxes")).json() == []  # nothing saved

    unreachable = await client.post(
        "/v1/mailboxes", json=_body(dovecot, imap_user, port=1, host="127.0.0.1")
    )
    assert unreachable.json()["error"]["code"] == "imap_unreachable"
    missing = await client.post(
        "/v1/mailboxes", json=_body(dovecot, imap_user, folders=["INBOX", "Nope"])
    )
    assert missing.json()["error"]["code"] == "imap_folder_missing"
    assert "Junk" in missing.json()["error"]["message"]  # the folders there are listed

    made = await client.post("/v1/mailboxes", json=_body(dovecot, imap_user, spam=True))
    assert made.status_code == 201, made.text
    imap = made.json()["imap"]
    assert imap["folders"] == ["INBOX", "Junk"] and imap["has_password"] is True
    assert imap["state"] == "pending" and imap["poll_seconds"] == 60
    assert imap["tls_mode"] == "none" and imap["username"] == imap_user
    assert password not in made.text
    async with runtime.db.sessions() as session:
        saved = await session.get(Mailbox, made.json()["id"])
        assert saved is not None and password not in json.dumps(saved.imap)
        events = list(await session.scalars(select(AuditEvent.action)))
        assert "mailbox.created" in events


async def test_sync_now_reads_the_mail_and_the_status_shows_it(
    client: httpx.AsyncClient, dovecot: DovecotServer, imap_user: str, runtime: Runtime
) -> None:
    dovecot.append(imap_user, "INBOX", reply())
    # The inbox keeps mail that relates to the workspace: the reply comes from a lead.
    lead = await client.post("/v1/leads", json={"email": "pat@prospect.example"})
    assert lead.status_code == 201, lead.text
    mailbox_id = (await client.post("/v1/mailboxes", json=_body(dovecot, imap_user))).json()["id"]
    started = await client.post(f"/v1/mailboxes/{mailbox_id}/sync")
    assert started.status_code == 202, started.text
    job_id = started.json()["job_id"]
    await drain(runtime)
    assert {r["id"]: r["status"] for r in await job_rows(runtime)}[job_id] == "succeeded"
    imap = (await client.get(f"/v1/mailboxes/{mailbox_id}")).json()["imap"]
    assert imap["state"] == "ok" and imap["last_good_sync_at"]
    (inbox,) = imap["sync"]
    assert inbox["folder"] == "INBOX" and inbox["stored_total"] == 1 and inbox["last_error"] is None

    # The password changes at the provider: the next sync fails and says so on the mailbox.
    dovecot.set_password(imap_user, "rotated")
    failing = (await client.post(f"/v1/mailboxes/{mailbox_id}/sync")).json()["job_id"]
    await drain(runtime)
    assert {r["id"]: r["status"] for r in await job_rows(runtime)}[failing] == "failed"
    imap = (await client.get(f"/v1/mailboxes/{mailbox_id}")).json()["imap"]
    assert imap["state"] == "failing"
    (inbox,) = imap["sync"]
    assert inbox["last_error_code"] == "imap_login_failed" and inbox["last_good_sync_at"]

    # Fixed with the new password (checked again); omitting it later keeps it.
    fixed = await client.patch(
        f"/v1/mailboxes/{mailbox_id}",
        json={"imap": dovecot.imap_settings(imap_user, password="rotated")},
    )
    assert fixed.status_code == 200, fixed.text
    kept = await client.patch(
        f"/v1/mailboxes/{mailbox_id}",
        json={"imap": dovecot.imap_settings(imap_user, password=None, poll_seconds=300)},
    )
    assert kept.status_code == 200 and kept.json()["imap"]["poll_seconds"] == 300
    # Stopping: no IMAP settings, no sync.
    off = await client.patch(f"/v1/mailboxes/{mailbox_id}", json={"imap": None})
    assert off.json()["imap"] is None
    refused = await client.post(f"/v1/mailboxes/{mailbox_id}/sync")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "imap_not_configured"


async def test_same_login_as_smtp(
    client: httpx.AsyncClient, dovecot: DovecotServer, imap_user: str
) -> None:
    password = dovecot.passwords[imap_user]
    with SmtpTestServer(username=imap_user, password=password) as smtp:
        made = await client.post(
            "/v1/mailboxes",
            json={
                "name": "Both", "provider": "smtp", "from_email": "sam@sender.example",
                "host": smtp.host, "port": smtp.port, "tls_mode": "none",
                "username": imap_user, "password": password,
                "imap": {"host": dovecot.host, "port": dovecot.port, "tls_mode": "none",
                         "same_as_smtp": True},
            },
        )  # fmt: skip
    assert made.status_code == 201, made.text
    imap = made.json()["imap"]
    assert imap["same_as_smtp"] is True and imap["username"] == imap_user
    both = await client.post(
        "/v1/mailboxes",
        json=_body(dovecot, imap_user, same_as_smtp=True),
    )
    assert both.status_code == 422  # a login and same_as_smtp: one or the other


async def test_the_page_sets_imap_shows_the_sync_and_syncs_now(
    client: httpx.AsyncClient, dovecot: DovecotServer, imap_user: str, runtime: Runtime
) -> None:
    made = await client.post(
        "/v1/mailboxes",
        json={"name": "R", "provider": "resend", "from_email": "a@b.example", "api_key": "re"},
    )
    mailbox_id = made.json()["id"]
    page = await client.get(f"/settings/mailboxes/{mailbox_id}")
    assert "Replies (IMAP)" in page.text and "Replies are not read yet" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    csrf = token.group(1) if token else ""
    form = {
        "csrf_token": csrf, "name": "R", "from_email": "a@b.example", "daily_cap": "50",
        "min_gap_seconds": "120", "jitter_seconds": "60", "timezone": "UTC",
        "warmup_start": "10", "warmup_increment": "5", "imap_enabled": "on",
        "imap_host": dovecot.host, "imap_port": str(dovecot.port), "imap_tls_mode": "none",
        "imap_username": imap_user, "imap_password": "wrong", "imap_folders": "INBOX",
    }  # fmt: skip
    refused = await client.post(f"/settings/mailboxes/{mailbox_id}", data=form)
    assert refused.status_code == 422
    assert 'id="e-imap_password"' in refused.text and "rejected the login" in refused.text
    assert (await client.get(f"/v1/mailboxes/{mailbox_id}")).json()["imap"] is None

    form["imap_password"] = dovecot.passwords[imap_user]
    saved = await client.post(f"/settings/mailboxes/{mailbox_id}", data=form)
    assert saved.status_code == 303, saved.text
    # The inbox keeps mail that relates to the workspace: the reply comes from a lead.
    assert (await client.post("/v1/leads", json={"email": "pat@prospect.example"})).is_success
    dovecot.append(imap_user, "INBOX", reply())
    synced = await client.post(f"/settings/mailboxes/{mailbox_id}/sync", data={"csrf_token": csrf})
    assert synced.status_code == 303 and "sync=" in synced.headers["location"]
    await drain(runtime)
    shown = await client.get(synced.headers["location"])
    assert "Sync started" in shown.text and "1 stored" in shown.text
    assert "Sync now" in shown.text and "Last good sync: never" not in shown.text

    dovecot.set_password(imap_user, "changed")
    await client.post(f"/settings/mailboxes/{mailbox_id}/sync", data={"csrf_token": csrf})
    await drain(runtime)
    alert = await client.get(f"/settings/mailboxes/{mailbox_id}")
    assert "Replies are not being read" in alert.text and "rejected the login" in alert.text


async def test_the_command_line_sets_imap_and_syncs(
    tmp_path: Path, database_url: str, owner: Account, dovecot: DovecotServer, imap_user: str,
    runtime: Runtime,
) -> None:  # fmt: skip
    def cli(*args: str, ok: bool = True) -> Any:
        done = run_cli(tmp_path, database_url, "mailboxes", *args, "--workspace", "Acme", "--json")
        assert (done.returncode == 0) == ok, (args, done.stdout, done.stderr)
        return json.loads(done.stdout) if ok else done

    made = cli("add-http", "--name", "R", "--from-email", "a@b.example", "--provider", "resend",
               "--api-key", "re")  # fmt: skip
    imap = ["--imap-host", dovecot.host, "--imap-port", str(dovecot.port), "--imap-tls", "none",
            "--imap-username", imap_user]  # fmt: skip
    wrong = cli("set-imap", made["id"], *imap, "--imap-password", "bad", ok=False)
    assert wrong.returncode == 1 and "imap_login_failed" in wrong.stderr
    row = cli("set-imap", made["id"], *imap, "--imap-password", dovecot.passwords[imap_user])
    assert row["imap"]["folders"] == ["INBOX"] and row["imap"]["has_password"]
    # The inbox keeps mail that relates to the workspace: the reply comes from a lead.
    async with runtime.db.session() as session:
        await make_lead(session, owner.workspace_id, email="pat@prospect.example")
    dovecot.append(imap_user, "INBOX", reply())
    started = cli("sync", made["id"])
    await drain(runtime)
    assert {r["id"]: r["status"] for r in await job_rows(runtime)}[started["job_id"]] == "succeeded"
    shown = cli("show", made["id"])
    assert shown["imap"]["state"] == "ok" and shown["imap"]["sync"][0]["stored_total"] == 1
    assert cli("set-imap", made["id"], "--off")["imap"] is None


async def test_stopping_leaves_no_imap_behind_for_the_scheduler(
    client: httpx.AsyncClient, dovecot: DovecotServer, imap_user: str, runtime: Runtime
) -> None:
    from sqlalchemy import text

    mailbox_id = (await client.post("/v1/mailboxes", json=_body(dovecot, imap_user))).json()["id"]
    await client.patch(f"/v1/mailboxes/{mailbox_id}", json={"imap": None})
    async with runtime.db.sessions() as session:
        left = await session.scalar(text("SELECT count(*) FROM mailboxes WHERE imap IS NOT NULL"))
        secrets = await session.scalar(
            text("SELECT count(*) FROM provider_credentials WHERE kind = 'imap_secret'")
        )
    assert left == 0 and secrets == 0

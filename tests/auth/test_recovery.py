"""Password resets and email confirmation by mail, through the system mailbox: the demo
catcher of `leadflood up --demo`, or SYSTEM_SMTP_URL; invitations mailed the same way."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from leadflood.demo.catcher import DemoSmtpCatcher, ensure_demo_mailbox
from leadflood.runtime import Runtime
from tests.support.accounts import Account, csrf_of
from tests.support.smtp_server import SmtpTestServer

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
async def catcher(tmp_path: Path, runtime: Runtime, owner: Account) -> Iterator[DemoSmtpCatcher]:
    """The demo catcher, running, with the demo mailbox pointing at it (as `up --demo` does)."""
    server = DemoSmtpCatcher(tmp_path / "demo_inbox")
    server.start()
    async with runtime.db.session() as session:
        await ensure_demo_mailbox(session, owner.workspace_id, server.port, server.directory)
    yield server
    server.stop()


def caught(server: DemoSmtpCatcher) -> list[EmailMessage]:
    parser = BytesParser(policy=policy.default)
    return [parser.parsebytes(path.read_bytes()) for path in server.received()]  # type: ignore[misc]


def link_in(message: EmailMessage, path: str) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(rf"http://\S+({path}/[A-Za-z0-9_\-]+)", body.get_content())
    assert found, body.get_content()
    return found.group(1)


async def test_a_reset_mail_arrives_in_the_demo_catcher_and_its_link_resets_the_password(
    anon_client: httpx.AsyncClient, catcher: DemoSmtpCatcher, owner: Account
) -> None:
    before = await anon_client.post(
        "/v1/auth/login", json={"email": owner.email, "password": owner.password}
    )
    refresh_token = before.json()["refresh_token"]

    asked = await anon_client.post("/v1/auth/password-reset", json={"email": owner.email})
    assert asked.status_code == 202, asked.text
    unknown = await anon_client.post(
        "/v1/auth/password-reset", json={"email": "nobody@nowhere.example"}
    )
    assert unknown.status_code == 202 and unknown.json() == asked.json()
    mails = caught(catcher)
    assert len(mails) == 1  # nothing for the unknown address
    mail = mails[0]
    assert mail["To"] == owner.email and "Reset your Lead Flood password" in mail["Subject"]
    path = link_in(mail, "/reset-password")
    token = path.rsplit("/", 1)[1]

    page = await anon_client.get(path)
    assert page.status_code == 200 and owner.email in page.text
    differ = await anon_client.post(
        path,
        data={
            "password": NEW_PASSWORD,
            "confirm": "something else",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert differ.status_code == 422 and "differ" in differ.text
    done = await anon_client.post(
        path,
        data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert done.status_code == 303 and done.headers["location"] == "/login?reset=1"

    # Every session of the account ended; the old password is gone, the new one works.
    refreshed = await anon_client.post("/v1/auth/refresh", json={"refresh_token": refresh_token})
    assert refreshed.status_code == 401
    old = await anon_client.post(
        "/v1/auth/login", json={"email": owner.email, "password": owner.password}
    )
    assert old.status_code == 401
    new = await anon_client.post(
        "/v1/auth/login", json={"email": owner.email, "password": NEW_PASSWORD}
    )
    assert new.status_code == 200

    # The link works once.
    again = await anon_client.post(
        "/v1/auth/password-reset/confirm", json={"token": token, "password": "yet another one!"}
    )
    assert again.status_code == 400 and again.json()["error"]["code"] == "account_token_invalid"
    events = (
        await anon_client.get(
            "/v1/audit-events", headers={"authorization": f"Bearer {new.json()['access_token']}"}
        )
    ).json()["items"]
    actions = [e["action"] for e in events]
    assert "auth.password_reset" in actions and "auth.password_reset_requested" in actions


async def test_a_newer_reset_link_replaces_the_older_one(
    anon_client: httpx.AsyncClient, catcher: DemoSmtpCatcher, owner: Account
) -> None:
    for _ in range(2):
        answer = await anon_client.post("/v1/auth/password-reset", json={"email": owner.email})
        assert answer.status_code == 202
    first, second = sorted(caught(catcher), key=lambda m: str(m["Date"]))[:2]
    tokens = [link_in(m, "/reset-password").rsplit("/", 1)[1] for m in (first, second)]
    results = [
        (
            await anon_client.post(
                "/v1/auth/password-reset/confirm", json={"token": t, "password": NEW_PASSWORD}
            )
        ).status_code
        for t in tokens
    ]
    assert sorted(results) == [204, 400]


async def test_without_a_system_mailbox_the_reset_says_how_to_configure_one(
    anon_client: httpx.AsyncClient, owner: Account
) -> None:
    answer = await anon_client.post("/v1/auth/password-reset", json={"email": owner.email})
    assert answer.status_code == 503
    error = answer.json()["error"]
    assert error["code"] == "system_mail_not_configured" and "SYSTEM_SMTP_URL" in error["message"]
    page = await anon_client.get("/forgot-password")
    assert "SYSTEM_SMTP_URL" in page.text and "reset-password EMAIL --password-stdin" in page.text


async def test_the_system_smtp_url_carries_reset_and_confirmation_mail(
    anon_client: httpx.AsyncClient,
    client: httpx.AsyncClient,
    runtime: Runtime,
    owner: Account,
    smtp: SmtpTestServer,
) -> None:
    runtime.settings.system_smtp_url = f"smtp+plain://127.0.0.1:{smtp.port}"
    runtime.settings.system_mail_from = "Acme Ops <ops@acme.example>"
    answer = await anon_client.post("/v1/auth/password-reset", json={"email": owner.email})
    assert answer.status_code == 202 and answer.json()["via"] == "settings"
    assert [m.rcpt_tos for m in smtp.messages] == [[owner.email]]
    assert smtp.messages[0].mail_from == "ops@acme.example"

    tokens = await anon_client.post(
        "/v1/auth/login", json={"email": owner.email, "password": owner.password}
    )
    bearer = {"authorization": f"Bearer {tokens.json()['access_token']}"}
    me = (await anon_client.get("/v1/auth/me", headers=bearer)).json()["user"]
    assert me["email_verified_at"] is None
    sent = await anon_client.post("/v1/auth/verify-email", headers=bearer)
    assert sent.status_code == 202, sent.text
    confirmation = smtp.messages[-1].message
    path = link_in(confirmation, "/verify-email")
    page = await anon_client.get(path)
    assert page.status_code == 200 and "Confirm my address" in page.text
    # Opening the link (a mail scanner may) does not confirm; the button does.
    me = (await anon_client.get("/v1/auth/me", headers=bearer)).json()["user"]
    assert me["email_verified_at"] is None
    done = await anon_client.post(path, data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 200 and "Email confirmed" in done.text
    me = (await anon_client.get("/v1/auth/me", headers=bearer)).json()["user"]
    assert me["email_verified_at"] is not None


async def test_an_invitation_is_mailed_with_its_link(
    client: httpx.AsyncClient, anon_client: httpx.AsyncClient, catcher: DemoSmtpCatcher
) -> None:
    created = await client.post(
        "/v1/invitations", json={"email": "new.hire@acme.example", "role": "member"}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["emailed"] is True and body["email_error"] is None
    (mail,) = caught(catcher)
    assert mail["To"] == "new.hire@acme.example" and "Acme" in mail["Subject"]
    path = link_in(mail, "/invite")
    # The mail carries a link of its own; the admin's works too, to the same invitation.
    assert not body["url"].endswith(path) and "/invite/" in body["url"]
    assert (await anon_client.get(path)).status_code == 200
    assert (await anon_client.get(urlsplit(body["url"]).path)).status_code == 200
    # Beside the text, an HTML part with the link as a button (escaped, never raw).
    html = mail.get_body(preferencelist=("html",))
    assert html is not None and html.get_content_type() == "text/html"
    content = html.get_content()
    assert f'{path}" style=' in content and ">Accept the invitation</a>" in content
    assert "Acme" in content
    # The mailed link reached this address: joining by it confirms it.
    assert await _verified_on_joining(anon_client, path.rsplit("/", 1)[1]) is True


def test_the_html_part_escapes_the_text_and_links_its_addresses() -> None:
    from leadflood.auth.mail import AccountMail, html_of

    text = (
        'Hello <b>"Ann" & co</b>,\n\nSee https://app.example/x?a=1&b=<2> for more.\n\n'
        "https://app.example/invite/abc\n"
    )
    page = html_of(AccountMail("a@b.example", "<script>alert(1)</script>", text, "Join <now>"))
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "&lt;b&gt;&#34;Ann&#34; &amp; co&lt;/b&gt;" in page
    # A link inside a sentence is a link; one alone in its paragraph is the button.
    assert 'href="https://app.example/x?a=1&amp;b=&lt;2&gt;"' in page
    assert 'href="https://app.example/invite/abc"' in page and ">Join &lt;now&gt;</a>" in page


async def test_joining_by_the_admin_s_link_does_not_confirm_a_mailed_address(
    client: httpx.AsyncClient, anon_client: httpx.AsyncClient, catcher: DemoSmtpCatcher
) -> None:
    created = await client.post(
        "/v1/invitations", json={"email": "new.hire@acme.example", "role": "member"}
    )
    body = created.json()
    assert body["emailed"] is True
    # The admin could hand the link they were shown to anyone: it proves nothing.
    assert await _verified_on_joining(anon_client, body["url"].rsplit("/", 1)[1]) is False
    # It was spent: the mailed one no longer opens.
    (mail,) = caught(catcher)
    assert (await anon_client.get(link_in(mail, "/invite"))).status_code != 200


async def _verified_on_joining(anon_client: httpx.AsyncClient, token: str) -> bool:
    joined = await anon_client.post(
        "/v1/invitations/accept", json={"token": token, "password": "a long passphrase 42"}
    )
    assert joined.status_code == 200, joined.text
    bearer = {"authorization": f"Bearer {joined.json()['access_token']}"}
    me = (await anon_client.get("/v1/auth/me", headers=bearer)).json()["user"]
    return me["email_verified_at"] is not None


async def test_an_invitation_without_a_system_mailbox_keeps_its_link_and_says_why(
    client: httpx.AsyncClient, anon_client: httpx.AsyncClient
) -> None:
    created = await client.post(
        "/v1/invitations", json={"email": "new.hire@acme.example", "role": "member"}
    )
    assert created.status_code == 201
    body = created.json()
    assert body["emailed"] is False and "SYSTEM_SMTP_URL" in body["email_error"]
    assert "/invite/" in body["url"]
    # Handed over by the admin, the link proves nothing about the address.
    assert await _verified_on_joining(anon_client, body["url"].rsplit("/", 1)[1]) is False

from __future__ import annotations

import re

import httpx

from leadflood.runtime import Runtime
from tests.factories import make_mailbox
from tests.support.accounts import Account, browser_login, csrf_of
from tests.support.smtp_server import SmtpTestServer


async def test_mailbox_pages_check_smtp_on_save_and_show_health_and_dns(
    anon_client: httpx.AsyncClient, owner: Account
) -> None:
    await browser_login(anon_client, owner)
    empty = await anon_client.get("/settings/mailboxes")
    assert "No mailbox yet" in empty.text and 'href="/settings/mailboxes"' in empty.text
    token = csrf_of(empty.text)
    with SmtpTestServer(username="sam", password="s3cret") as server:
        form = {"provider": "smtp", "name": "Sales", "from_email": "sam@example.org",
                "from_name": "Sam", "host": server.host, "port": str(server.port),
                "tls_mode": "none", "username": "sam", "password": "Xq9-nope", "daily_cap": "40",
                "min_gap_seconds": "60", "jitter_seconds": "10", "timezone": "UTC",
                "warmup_start": "10", "warmup_increment": "5", "csrf_token": token}  # fmt: skip
        refused = await anon_client.post("/settings/mailboxes", data=form)
        assert refused.status_code == 422
        assert re.search(r'id="e-password"[^>]*>[^<]*rejected', refused.text)
        assert "Xq9-nope" not in refused.text
        created = await anon_client.post("/settings/mailboxes", data=form | {"password": "s3cret"})
        assert created.status_code == 303, created.text
        page = await anon_client.get(created.headers["location"])
        assert "the SMTP login worked" in page.text and "s3cret" not in page.text
        mailbox_url = created.headers["location"].split("?")[0]
        checked = await anon_client.post(f"{mailbox_url}/check", data={"csrf_token": token})
        assert checked.status_code == 303
    listing = await anon_client.get("/settings/mailboxes")
    assert "Sales" in listing.text and "0</strong> / 40" in listing.text
    dns = await anon_client.post(f"{mailbox_url}/dns", data={"csrf_token": token})
    assert dns.status_code == 303
    panel = (await anon_client.get(mailbox_url)).text
    assert "DNS of example.org" in panel and "Checked" in panel
    paused = await anon_client.post(f"{mailbox_url}/pause", data={"csrf_token": token})
    assert paused.status_code == 303
    assert 'data-status="paused"' in (await anon_client.get("/settings/mailboxes")).text
    gone = await anon_client.post(f"{mailbox_url}/delete", data={"csrf_token": token})
    assert gone.headers["location"] == "/settings/mailboxes?deleted=1"


def _last_error_cells(html: str) -> list[str]:
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S) for row in rows]
    # Last error is the sixth column of the mailbox table.
    return [re.sub(r"<[^>]+>", "", c[5]).strip() for c in cells if len(c) == 7]


async def test_the_mailbox_list_shows_a_dash_when_there_is_no_error(
    anon_client: httpx.AsyncClient, owner: Account, runtime: Runtime
) -> None:
    """A mailbox without an error shows a dash, never the word "None"; one with an error
    shows it."""
    async with runtime.db.session() as session:
        await make_mailbox(
            session,
            owner.workspace_id,
            from_email="sam@sender.example",
            daily_cap=10_000,
            name="Clean",
        )
        await make_mailbox(
            session, owner.workspace_id, name="Broken", from_email="b@sender.example",
            daily_cap=10_000, last_error="535 authentication failed",
        )  # fmt: skip
    await browser_login(anon_client, owner)
    page = await anon_client.get("/settings/mailboxes")
    assert page.status_code == 200
    assert sorted(_last_error_cells(page.text)) == ["535 authentication failed", "—"]
    assert ">None<" not in page.text


async def test_the_mailbox_page_says_sending_is_paused_by_an_open_breaker(
    anon_client: httpx.AsyncClient, owner: Account, runtime: Runtime
) -> None:
    from leadflood.providers.base import TemporaryProviderError
    from leadflood.system import breakers

    async with runtime.db.session() as session:
        box = await make_mailbox(session, owner.workspace_id, provider="resend")
    await browser_login(anon_client, owner)
    assert "Sending paused" not in (await anon_client.get(f"/settings/mailboxes/{box.id}")).text
    engine = runtime.db.engine
    gate = await breakers.enter(engine, "resend", str(box.id), breakers.Policy(failures=1))
    await gate.failure(engine, TemporaryProviderError("HTTP 503", provider="resend", code="503"))

    page = (await anon_client.get(f"/settings/mailboxes/{box.id}")).text

    assert "Sending paused" in page and "503: HTTP 503" in page and "One test send" in page

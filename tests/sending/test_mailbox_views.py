from __future__ import annotations

import re

import httpx

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


async def test_suppression_page_adds_imports_and_removes(
    anon_client: httpx.AsyncClient, owner: Account
) -> None:
    await browser_login(anon_client, owner)
    page = await anon_client.get("/suppressions")
    assert "The suppression list is empty" in page.text
    token = csrf_of(page.text)
    added = await anon_client.post(
        "/suppressions",
        data={"value": "Jane@Rival.com", "reason": "do_not_contact", "csrf_token": token},
    )
    assert added.status_code == 303
    blank = await anon_client.post("/suppressions", data={"value": "", "csrf_token": token})
    assert blank.status_code == 422 and 'id="e-value"' in blank.text
    unclear = await anon_client.post(
        "/suppressions", data={"value": "???", "reason": "do_not_contact", "csrf_token": token}
    )
    assert unclear.status_code == 422
    assert "is not an email, a domain, a phone number" in unclear.text
    # The refused entry comes back as typed, its error under the value.
    assert (
        'value="???"' in unclear.text and '<option value="do_not_contact" selected>' in unclear.text
    )
    as_domain = await anon_client.post(
        "/suppressions", data={"value": "???", "kind": "domain", "csrf_token": token}
    )
    assert "is not a domain." in as_domain.text
    assert '<option value="domain" selected>' in as_domain.text
    imported = await anon_client.post(
        "/suppressions/import",
        data={"csrf_token": token},
        files={"file": ("dnc.csv", b"value\nrival.example\nbad@@\n", "text/csv")},
    )
    assert imported.status_code == 303
    listing = await anon_client.get(imported.headers["location"])
    assert "1 added" in listing.text and "1 rejected — line 3: " in listing.text
    assert "jane@rival.com" in listing.text and "rival.example" in listing.text
    (entry,) = re.findall(r'action="/suppressions/([0-9a-f-]{36})/delete"', listing.text)[:1]
    removed = await anon_client.post(f"/suppressions/{entry}/delete", data={"csrf_token": token})
    assert removed.status_code == 303
    after = await anon_client.get("/suppressions?kind=email")
    assert (
        after.text.count('action="/suppressions/') - after.text.count("/suppressions/import") <= 2
    )

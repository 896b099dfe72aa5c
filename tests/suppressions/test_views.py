from __future__ import annotations

import re

import httpx

from tests.support.accounts import Account, browser_login, csrf_of


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

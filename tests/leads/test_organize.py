"""Tagging and listing a large filter's leads: a bulk operation on the workers (API, page), page
by page with a progress bar (CLI); audited once either way."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from leadflood.leads import organize
from leadflood.models import AuditEvent, Lead, LeadListMember
from tests.factories import make_lead
from tests.support.accounts import browser_login, csrf_of
from tests.support.jobs import drain
from tests.support.processes import run_cli


async def _leads(runtime, workspace_id, n: int, domain: str) -> list[uuid.UUID]:
    async with runtime.db.session() as session:
        made = [await make_lead(session, workspace_id, email=f"p{i}@{domain}") for i in range(n)]
        return [lead.id for lead in made]


async def _audited(runtime, action: str) -> list[AuditEvent]:
    async with runtime.db.sessions() as session:
        rows = await session.scalars(select(AuditEvent).where(AuditEvent.action == action))
        return list(rows.all())


async def test_a_large_filter_is_tagged_and_listed_in_the_background(
    client, anon_client, runtime, owner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(organize, "BACKGROUND_OVER", 5)
    ids = await _leads(runtime, owner.workspace_id, 12, "big.example")
    await _leads(runtime, owner.workspace_id, 2, "other.example")
    few = await client.post("/v1/leads/bulk/tag", json={"filter": {"q": "other.example"},
                                                        "tags": ["few"]})  # fmt: skip
    assert few.status_code == 200 and few.json() == {"changed": 2}

    queued = await client.post(
        "/v1/leads/bulk/tag", json={"filter": {"q": "big.example"}, "tags": ["Big Deal"]}
    )
    assert queued.status_code == 202, queued.text
    operation = queued.json()["operation"]
    assert (operation["action"], operation["state"]) == ("tag", "queued")
    assert operation["selection"]["params"] == {"tags": ["big deal"]}
    made = await client.post("/v1/lists", json={"name": "Big accounts"})
    list_id = made.json()["id"]
    listed = await client.post(f"/v1/lists/{list_id}/leads", json={"filter": {"q": "big.example"}})
    assert listed.status_code == 202 and listed.json()["operation"]["action"] == "list_add"
    await drain(runtime)

    for answer in (queued, listed):
        done = await client.get(f"/v1/leads/bulk/{answer.json()['operation']['id']}")
        assert done.json()["state"] == "completed", done.json()
        assert (done.json()["total"], done.json()["done"]) == (12, 12)
    async with runtime.db.sessions() as session:
        tagged = await session.scalar(select(func.count()).where(Lead.tags.contains(["big deal"])))
        members = await session.scalar(
            select(func.count()).where(LeadListMember.list_id == uuid.UUID(list_id))
        )
    assert (tagged, members) == (12, 12)
    # Audited once each, for the person's action, not once per chunk.
    assert [e.details.get("queued") for e in await _audited(runtime, "leads.tagged")] == [None, 12]
    assert [e.details["queued"] for e in await _audited(runtime, "list.leads_added")] == [12]

    removing = await client.request(
        "DELETE", f"/v1/lists/{list_id}/leads", json={"filter": {"q": "big.example"}}
    )
    assert removing.status_code == 202
    untag = await client.post(
        "/v1/leads/bulk/untag", json={"filter": {"q": "big.example"}, "tags": ["big deal"]}
    )
    assert untag.status_code == 202
    await drain(runtime)
    async with runtime.db.sessions() as session:
        big = await session.scalar(select(func.count()).where(Lead.tags.contains(["big deal"])))
        assert not big
        assert not await session.scalar(select(func.count()).select_from(LeadListMember))
    assert len(ids) == 12

    # The leads page follows the operation it started.
    browser = anon_client
    await browser_login(browser, owner)
    token = csrf_of((await browser.get("/leads")).text)
    page = await browser.post(
        "/leads/organize",
        data={"csrf_token": token, "do": "tag", "tag_value": "paged", "apply_to": "filter",
              "q": "big.example", "confirmed": "12"},
    )  # fmt: skip
    assert page.status_code == 303 and "bulk=" in page.headers["location"]
    shown = await browser.get(page.headers["location"])
    assert "Tagging 12 leads" in " ".join(shown.text.split())


async def test_the_shell_tags_a_filter_page_by_page(tmp_path, database_url, runtime, owner):
    await _leads(runtime, owner.workspace_id, 7, "shell.example")
    done = run_cli(tmp_path, database_url, "leads", "tag", "shelled", "--filter",
                   "q=shell.example", "-w", "Acme")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Tagged 7 leads" in done.stdout
    async with runtime.db.sessions() as session:
        tagged = await session.scalar(select(func.count()).where(Lead.tags.contains(["shelled"])))
    assert tagged == 7
    (event,) = await _audited(runtime, "leads.tagged")
    assert event.details["count"] == 7 and event.details["filter"] == {"q": "shell.example"}

"""Stored mail classified again after a rules change: labels follow the current rules, a newly
found opt-out suppresses, a person's correction stays; API, job and command line."""

from __future__ import annotations

import json

from sqlalchemy import delete, select

from leadflood.inbox import reclassify
from leadflood.inbox.rules import RULES_VERSION
from leadflood.models import AuditEvent, Message, Suppression
from leadflood.runtime import Runtime
from tests.inbox.test_process import NOW, _ingest, _reply, _sent
from tests.support.accounts import browser_login, csrf_of
from tests.support.jobs import drain
from tests.support.processes import run_cli

OLD = {"kind": "reply", "label": "other", "version": "2025.01", "evidence": ["old rules"]}


async def test_old_conclusions_are_replaced_and_a_missed_opt_out_suppresses(
    runtime: Runtime, owner
) -> None:
    ws, box, _, _, sent = await _sent(runtime)
    await _ingest(runtime, ws.id, box.id, _reply(sent.message_id, "Please remove me from the list"))
    await _ingest(runtime, ws.id, box.id, _reply(sent.message_id, "Stop emailing me, thanks."))
    async with runtime.db.session() as session:
        first, second = (
            await session.scalars(
                select(Message).where(Message.direction == "inbound").order_by(Message.created_at)
            )
        ).all()
        # Rules of an older version read both as plain replies and suppressed no one; a person
        # then set the second one's label by hand.
        first.classification = {**first.classification, **OLD, "effects": []}
        second.classification = {**second.classification, **OLD}
        second.corrected_by, second.corrected_at = owner.user_id, NOW
        await session.execute(delete(Suppression).where(Suppression.workspace_id == ws.id))
    async with runtime.db.session() as session:
        assert await reclassify.count_stale(session, ws.id) == 1
        # Counted up to a cap + 1 for a page shown often: "more than cap".
        assert await reclassify.count_stale(session, ws.id, cap=0) == 1
        assert await reclassify.count_stale(session, ws.id, cap=5) == 1

    done = await reclassify.run(runtime.db, ws.id, now=NOW)
    assert (done.checked, done.changed, done.acted) == (1, 1, 1)
    async with runtime.db.session() as session:
        now_read = await session.get(Message, first.id)
        assert now_read is not None and now_read.classification is not None
        assert now_read.classification["kind"] == "unsubscribe"
        assert now_read.classification["version"] == RULES_VERSION
        assert now_read.classification["previous"]["version"] == "2025.01"
        assert any("suppressed" in e for e in now_read.classification["effects"])
        kept = await session.get(Message, second.id)
        assert kept is not None and kept.classification is not None
        assert (kept.classification["kind"], kept.classification["label"]) == ("reply", "other")
        listed = await session.scalar(
            select(Suppression.reason).where(Suppression.workspace_id == ws.id)
        )
        assert listed == "unsubscribed"
        assert await reclassify.count_stale(session, ws.id) == 0
        (event,) = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "inbox.reclassified")
            )
        ).all()
        assert (event.details["checked"], event.details["changed"]) == (1, 1)
    # Nothing stale is left: a second run reads nothing.
    assert (await reclassify.run(runtime.db, ws.id, now=NOW)).checked == 0


async def test_the_api_queues_one_at_a_time_and_the_shell_runs_it(
    client, runtime, owner, tmp_path, database_url
) -> None:
    queued = await client.post("/v1/messages/reclassify")
    assert queued.status_code == 202, queued.text
    assert queued.json()["version"] == RULES_VERSION and queued.json()["messages"] == 0
    again = await client.post("/v1/messages/reclassify")
    assert again.status_code == 409 and again.json()["error"]["code"] == "reclassify_queued"
    await drain(runtime)
    job = await client.get(f"/v1/jobs/{queued.json()['job_id']}")
    assert job.json()["status"] == "completed"
    shell = run_cli(tmp_path, database_url, "inbox", "reclassify", "-w", "Acme", "--json")
    assert shell.returncode == 0, shell.stderr
    assert json.loads(shell.stdout) == {"version": RULES_VERSION, "checked": 0, "changed": 0,
                                        "acted": 0}  # fmt: skip


async def test_the_inbound_settings_page_offers_it(anon_client, runtime, owner) -> None:
    await browser_login(anon_client, owner)
    page = await anon_client.get("/settings/inbound")
    assert "Classification rules" in page.text and RULES_VERSION in page.text
    asked = await anon_client.post(
        "/settings/inbound/reclassify", data={"csrf_token": csrf_of(page.text)}
    )
    assert asked.status_code == 303 and asked.headers["location"].endswith("reclassify=queued")
    shown = await anon_client.get(asked.headers["location"])
    assert "Re-classification queued" in shown.text


async def test_the_settings_page_says_more_than_its_cap(anon_client, owner, monkeypatch) -> None:
    from leadflood.inbox import webhook_views

    asked: list[int | None] = []

    async def counted(session, workspace_id, *, cap=None) -> int:  # what the capped query gives
        asked.append(cap)
        return 10_001

    monkeypatch.setattr(webhook_views.reclassify, "count_stale", counted)
    await browser_login(anon_client, owner)
    page = await anon_client.get("/settings/inbound")
    assert asked == [webhook_views.STALE_SHOWN] == [10_000]
    assert "More than 10,000 stored messages were classified with older rules" in page.text
    assert "Classify them again" in page.text

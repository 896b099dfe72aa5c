from __future__ import annotations

import re
from typing import Any

import httpx

from leadflood.models import VerificationStatus
from leadflood.runtime import Runtime
from tests.factories import make_lead, make_mailbox
from tests.support.accounts import Account, browser_login, csrf_of


async def _signed_in(client: httpx.AsyncClient, owner: Account) -> str:
    await browser_login(client, owner)
    return csrf_of((await client.get("/sequences/new")).text)


async def test_build_a_sequence_in_the_browser(
    anon_client: httpx.AsyncClient, owner: Account, runtime: Runtime
) -> None:
    token = await _signed_in(anon_client, owner)
    async with runtime.db.session() as session:
        box = await make_mailbox(session, owner.workspace_id, config={"host": "x"})
        lead = await make_lead(
            session,
            owner.workspace_id,
            first_name="Grace",
            company_name="Navy",
            verification_status=VerificationStatus.valid,
        )
        other = await make_lead(
            session,
            owner.workspace_id,
            email=None,
            first_name="Ada",
            verification_status=VerificationStatus.valid,
        )
    empty = await anon_client.get("/sequences")
    assert "No sequences yet" in empty.text and 'href="/sequences"' in empty.text

    missing = await anon_client.post("/sequences", data={"name": "", "csrf_token": token})
    assert missing.status_code == 422 and "field-error" in missing.text
    no_csrf = await anon_client.post("/sequences", data={"name": "x"})
    assert no_csrf.status_code == 403
    created = await anon_client.post(
        "/sequences", data={"name": "Launch", "timezone": "Europe/Paris", "csrf_token": token}
    )
    assert created.status_code == 303
    sid = re.search(r"/sequences/([0-9a-f-]{36})", created.headers["location"]).group(1)  # type: ignore[union-attr]
    page = await anon_client.get(created.headers["location"])
    assert "Sequence created" in page.text and "No steps yet" in page.text
    assert "Add at least one step" in page.text

    bad = await anon_client.post(
        f"/sequences/{sid}/steps",
        data={"delay_amount": "0", "delay_unit": "hours", "v0_subject": "Hi {{ frist_name }}",
              "v0_body": "x", "csrf_token": token},
    )  # fmt: skip
    assert bad.status_code == 422
    assert re.search(r'id="e-add_v0_subject"[^>]*>[^<]*frist_name', bad.text)
    assert "did you mean &#39;first_name&#39;?" in bad.text and "of variant A" not in bad.text
    assert 'value="Hi {{ frist_name }}"' in bad.text
    for delay, subject, body in [
        ("0", "Hi {{ first_name | default('there') }}", "Hello {{ first_name }}, a note."),
        ("2", "", "Bumping this, {{ first_name }}."),
        ("3", "Last one", "Closing the loop."),
    ]:
        added = await anon_client.post(
            f"/sequences/{sid}/steps",
            data={"delay_amount": delay, "delay_unit": "business_days", "v0_subject": subject,
                  "v0_body": body, "csrf_token": token},
        )  # fmt: skip
        assert added.status_code == 303, added.text

    saved = await anon_client.post(
        f"/sequences/{sid}/settings",
        data={"name": "Launch", "timezone": "Europe/Paris", "days": ["0", "1", "2", "3", "4"],
              "start": "09:00", "end": "17:00", "on_reply": "on", "on_bounce": "on",
              "mailbox_ids": str(box.id), "postal_address": "Acme, 1 Main St",
              "csrf_token": token},
    )  # fmt: skip
    assert saved.status_code == 303, saved.text
    builder = await anon_client.get(f"/sequences/{sid}?lead_id={lead.id}")
    text = builder.text
    assert text.count('class="step-card"') == 3
    assert "Right away" in text and "After 2 business days" in text
    assert "Hi Grace" in text and "Re: Hi Grace" in text and "Acme, 1 Main St" in text
    assert 'data-preview-url="/v1/sequences/' in text and "{{ company.name }}" in text
    assert "Before you can" not in text

    step_id = re.findall(r'id="step-([0-9a-f-]{36})"', text)[0]
    edit = await anon_client.get(f"/sequences/{sid}/steps/{step_id}")
    assert "Variant A" in edit.text and "Add variant" in edit.text
    with_b = await anon_client.post(
        f"/sequences/{sid}/steps/{step_id}",
        data={"delay_amount": "0", "delay_unit": "hours", "v0_subject": "Hi {{ first_name }}",
              "v0_body": "A body", "v0_weight": "1", "v1_subject": "Question {{ oops }}",
              "v1_body": "B body", "v1_weight": "2", "csrf_token": token},
    )  # fmt: skip
    assert with_b.status_code == 422 and 'id="e-v1_subject"' in with_b.text
    fixed = await anon_client.post(
        f"/sequences/{sid}/steps/{step_id}",
        data={"delay_amount": "0", "delay_unit": "hours", "v0_subject": "Hi {{ first_name }}",
              "v0_body": "A body", "v0_weight": "1", "v1_subject": "For {{ company.name }}",
              "v1_body": "B body", "v1_weight": "2", "csrf_token": token},
    )  # fmt: skip
    assert fixed.status_code == 303
    detail = (await anon_client.get(f"/v1/sequences/{sid}")).json()
    variants = detail["steps"][0]["variants"]
    assert [(v["label"], v["weight"]) for v in variants] == [("A", 1), ("B", 2)]
    last = detail["steps"][2]["id"]
    moved = await anon_client.post(
        f"/sequences/{sid}/steps/{last}/move", data={"position": "1", "csrf_token": token}
    )
    assert moved.status_code == 303
    after = (await anon_client.get(f"/v1/sequences/{sid}")).json()
    assert after["steps"][0]["id"] == last

    activated = await anon_client.post(
        f"/sequences/{sid}/state", data={"action": "activate", "csrf_token": token}
    )
    assert activated.status_code == 303
    again = await anon_client.post(
        f"/sequences/{sid}/state", data={"action": "activate", "csrf_token": token}
    )
    assert again.status_code == 409
    assert "An active sequence cannot be activated (only a draft or paused one can)" in again.text

    enroll_page = await anon_client.get(f"/sequences/{sid}/enroll")
    assert "Which leads?" in enroll_page.text
    enrolled = await anon_client.post(
        f"/sequences/{sid}/enroll",
        data={"source": "selection", "lead_ids": f"{lead.id}\n{other.id}", "csrf_token": token},
    )
    assert enrolled.status_code == 200
    assert "1 lead enrolled" in enrolled.text and "no valid email" in enrolled.text
    by_filter = await anon_client.post(
        f"/sequences/{sid}/enroll",
        data={"source": "filter", "q": "Navy", "confirmed": "1", "csrf_token": token},
    )
    assert "0 leads enrolled" in by_filter.text and "already in this sequence" in by_filter.text
    no_run = await anon_client.post(
        f"/sequences/{sid}/enroll", data={"source": "search_run", "csrf_token": token}
    )
    assert no_run.status_code == 422 and "banner bad" in no_run.text

    listing = await anon_client.get(f"/sequences/{sid}/enrollments")
    (enrollment_id,) = re.findall(
        r'name="enrollment_ids" value="([0-9a-f-]{36})" form=', listing.text
    )
    assert "Grace" in listing.text
    paused = await anon_client.post(
        f"/sequences/{sid}/enrollments/bulk",
        data={"action": "pause", "enrollment_ids": enrollment_id, "csrf_token": token},
    )
    assert paused.status_code == 303
    shown = await anon_client.get(paused.headers["location"])
    assert "1 enrollment paused" in shown.text
    stopped = await anon_client.post(
        f"/sequences/{sid}/enrollments/bulk",
        data={"action": "stop", "enrollment_ids": enrollment_id, "csrf_token": token},
    )
    stopped_page = await anon_client.get(stopped.headers["location"])
    assert "manual" in stopped_page.text
    stopped_again = await anon_client.post(
        f"/sequences/{sid}/enrollments/bulk",
        data={"action": "stop", "enrollment_ids": enrollment_id, "csrf_token": token},
    )
    again_page = await anon_client.get(stopped_again.headers["location"])
    assert "Nothing stopped: only active or paused enrollments can be stopped" in again_page.text
    none_ticked = await anon_client.post(
        f"/sequences/{sid}/enrollments/bulk", data={"action": "pause", "csrf_token": token}
    )
    assert (
        "Tick at least one enrollment"
        in (await anon_client.get(none_ticked.headers["location"])).text
    )

    assert lead.email is not None
    by_email = await anon_client.post(
        f"/sequences/{sid}/enroll",
        data={"source": "selection", "csrf_token": token,
              "lead_ids": f" {lead.email.upper()} ;nobody@nowhere.example"},
    )  # fmt: skip
    assert by_email.status_code == 200
    assert "already in this sequence" in by_email.text
    assert "not found in this workspace" in by_email.text
    unreadable = await anon_client.post(
        f"/sequences/{sid}/enroll",
        data={"source": "selection", "lead_ids": "hello", "csrf_token": token},
    )
    assert unreadable.status_code == 422
    assert "neither a lead id nor an email address" in unreadable.text
    no_match = await anon_client.post(
        f"/sequences/{sid}/enroll", data={"source": "filter", "q": "zzzz", "csrf_token": token}
    )
    assert "No lead matches" in no_match.text

    listed = await anon_client.get("/sequences")
    assert "Launch" in listed.text and 'data-status="active"' in listed.text
    archived = await anon_client.post(
        f"/sequences/{sid}/state", data={"action": "archive", "csrf_token": token}
    )
    assert archived.status_code == 303
    final = await anon_client.get(f"/sequences/{sid}")
    assert "Add a step" not in final.text and 'data-status="archived"' in final.text


async def test_viewers_see_but_cannot_change_and_other_workspaces_are_hidden(
    anon_client: httpx.AsyncClient, owner: Account, make_user: Any, other_workspace: Account,
    runtime: Runtime,
) -> None:  # fmt: skip
    async with runtime.db.session() as session:
        from tests.factories import make_sequence

        mine = await make_sequence(session, owner.workspace_id, activate=False)
        theirs = await make_sequence(session, other_workspace.workspace_id, activate=False)
    viewer = await make_user(role="viewer", workspace=owner.workspace_id)
    await browser_login(anon_client, viewer)
    page = await anon_client.get(f"/sequences/{mine.id}")
    assert page.status_code == 200 and "Add a step" not in page.text
    assert "Send a test" not in page.text
    token = csrf_of(page.text)
    denied = await anon_client.post(
        f"/sequences/{mine.id}/state", data={"action": "activate", "csrf_token": token}
    )
    assert denied.status_code == 403
    assert (await anon_client.get(f"/sequences/{theirs.id}")).status_code == 404
    assert (await anon_client.get(f"/sequences/{theirs.id}/enrollments")).status_code == 404


async def _waiting_fixture(runtime: Runtime, workspace_id: Any, now: Any) -> dict[str, Any]:
    """A sequence whose window is closed now (its only day is three days ahead in Chicago), and
    one enrollment per reason a customer must be told about."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from leadflood.models import Enrollment, MailboxState, Message, MessageStatus
    from tests.factories import make_sequence

    chicago = ZoneInfo("America/Chicago")
    day = (now.astimezone(chicago).weekday() + 3) % 7
    other_day = (now.astimezone(ZoneInfo("Asia/Tokyo")).weekday() + 3) % 7
    async with runtime.db.session() as session:
        ok = await make_mailbox(session, workspace_id)
        paused = await make_mailbox(session, workspace_id, state=MailboxState.paused)
        broken = await make_mailbox(
            session, workspace_id, state=MailboxState.error, last_error="535 authentication failed"
        )
        capped = await make_mailbox(session, workspace_id, daily_cap=1, timezone="Asia/Tokyo")
        closed = await make_mailbox(
            session, workspace_id, timezone="Asia/Tokyo",
            window={"days": [other_day], "start": "09:00", "end": "10:00"},
        )  # fmt: skip
        for box, name in [(ok, "Main"), (paused, "Paused"), (broken, "Broken"),
                          (capped, "Capped"), (closed, "Night")]:  # fmt: skip
            box.name = f"{name} box"
        seq = await make_sequence(
            session, workspace_id, mailboxes=[ok], timezone="Europe/Paris",
            window={"days": [day], "start": "09:00", "end": "17:00"},
        )  # fmt: skip
        first = seq.steps[0]
        later = now + timedelta(days=2)
        rows: dict[str, Any] = {}
        for name, zone, box in [
            ("planned", "America/Chicago", None), ("nozone", None, None),
            ("paused", "America/Chicago", paused), ("broken", "America/Chicago", broken),
            ("capped", "America/Chicago", capped), ("night", "America/Chicago", closed),
            ("window", "America/Chicago", ok),
        ]:  # fmt: skip
            lead = await make_lead(
                session,
                workspace_id,
                first_name=name,
                timezone=zone,
                verification_status=VerificationStatus.valid,
            )
            queued = box is not None
            e = Enrollment(
                workspace_id=workspace_id, sequence_id=seq.id, lead_id=lead.id,
                next_step=2 if queued else 1, next_run_at=None if queued else later,
            )  # fmt: skip
            session.add(e)
            await session.flush()
            if box is not None:
                session.add(
                    Message(
                        workspace_id=workspace_id, enrollment_id=e.id, step_id=first.id,
                        lead_id=lead.id, mailbox_id=box.id, to_address=lead.email or "",
                        message_id=f"<{e.id}@x>", send_after=now - timedelta(minutes=5),
                    )
                )  # fmt: skip
            rows[name] = e.id
        session.add(
            Message(
                workspace_id=workspace_id, lead_id=None, mailbox_id=capped.id,
                to_address="someone@else.example", message_id="<capped@x>",
                status=MessageStatus.sent, send_after=now, sent_at=now,
            )
        )  # fmt: skip
    return {"sequence": seq, "rows": rows, "later": later}


async def test_the_enrollment_list_says_why_each_enrollment_waits_in_the_leads_time(
    anon_client: httpx.AsyncClient, owner: Account, runtime: Runtime
) -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    await browser_login(anon_client, owner)
    now = datetime.now(UTC)
    made = await _waiting_fixture(runtime, owner.workspace_id, now)
    sid, rows = made["sequence"].id, made["rows"]
    page = await anon_client.get(f"/sequences/{sid}/enrollments")
    assert page.status_code == 200
    cells = dict(
        re.findall(r'value="([0-9a-f-]{36})" form="bulk-form".*?class="waiting-cell">(.*?)</td>',
                   page.text, re.S)
    )  # fmt: skip
    local = made["later"].astimezone(ZoneInfo("America/Chicago")).strftime("%a %H:%M")
    assert f"Next step 1 {local} (lead&#39;s time, America/Chicago)" in cells[str(rows["planned"])]
    assert "(sequence&#39;s time, Europe/Paris)" in cells[str(rows["nozone"])]
    assert "the mailbox Paused box is paused" in cells[str(rows["paused"])]
    assert "Broken box is in error: 535 authentication failed" in cells[str(rows["broken"])]
    capped = cells[str(rows["capped"])]
    assert "Capped box reached its daily cap (1/1)" in capped
    assert "next send after midnight Asia/Tokyo" in capped
    assert "outside the sending window of Night box" in cells[str(rows["night"])]
    window = cells[str(rows["window"])]
    assert "Held: the lead&#39;s window is closed; it opens" in window
    assert "09:00 (lead&#39;s time, America/Chicago)" in window
    assert all("UTC" not in cell for cell in cells.values())
    assert 'data-reason="daily_cap_reached"' in capped

    api = (await anon_client.get(f"/v1/sequences/{sid}/enrollments?limit=50")).json()
    by_id = {item["id"]: item for item in api["items"]}
    held = by_id[str(rows["window"])]["waiting"]
    assert (held["reason"], held["time_zone"], held["zone_of"]) == (
        "lead_window_closed", "America/Chicago", "lead",
    )  # fmt: skip
    assert datetime.fromisoformat(held["until"]).astimezone(ZoneInfo("America/Chicago")).hour == 9
    assert by_id[str(rows["nozone"])]["waiting"]["zone_of"] == "sequence"
    assert by_id[str(rows["paused"])]["waiting"]["reason"] == "mailbox_paused"


async def test_the_enrollment_rows_cost_the_same_queries_for_any_page_size(
    owner: Account, runtime: Runtime
) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import event

    from leadflood.sequences import enrollment, queries

    now = datetime.now(UTC)
    made = await _waiting_fixture(runtime, owner.workspace_id, now)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    sync_engine = runtime.db.engine.sync_engine
    per_page: dict[int, int] = {}
    for limit in (1, 7):
        statements.clear()
        async with runtime.db.session() as session:
            page = await enrollment.list_page(
                session, owner.workspace_id, made["sequence"].id, limit=limit
            )
            rows = page.items
            event.listen(sync_engine, "before_cursor_execute", count)
            try:
                found = await queries.enrollment_rows(session, owner.workspace_id, rows, now=now)
            finally:
                event.remove(sync_engine, "before_cursor_execute", count)
        assert len(found) == limit and all(row.waiting is not None for row in found)
        per_page[limit] = len(statements)
    # The page's rows in one query, the day's sends of their mailboxes in one more.
    assert per_page[1] <= 2 and per_page[7] == 2, per_page


async def test_the_enroll_form_shows_only_the_chosen_source_with_its_script(
    anon_client: httpx.AsyncClient, owner: Account, runtime: Runtime
) -> None:
    from tests.factories import make_sequence

    await browser_login(anon_client, owner)
    async with runtime.db.session() as session:
        seq = await make_sequence(session, owner.workspace_id, activate=False)
    page = (await anon_client.get(f"/sequences/{seq.id}/enroll?source=search_run")).text
    assert '<script src="/static/enroll.js' in page and "data-source-choice" in page
    # Without JS every block is visible: none is hidden by the server.
    blocks = re.findall(r'<fieldset class="plain source-block" data-source="(\w+)"( hidden)?', page)
    assert blocks == [("filter", ""), ("selection", ""), ("search_run", "")]
    assert re.search(r'value="search_run" checked', page)
    script = await anon_client.get("/static/enroll.js")
    assert script.status_code == 200 and "data-source" in script.text


async def test_a_steps_unconfirmed_messages_are_counted_apart_and_link_to_the_outbox(
    anon_client: httpx.AsyncClient, client: httpx.AsyncClient, owner: Account, runtime: Runtime
) -> None:
    from leadflood.models import MessageStatus
    from tests.factories import make_bare_sequence, make_enrollment, queue_message

    await browser_login(anon_client, owner)
    async with runtime.db.session() as session:
        box = await make_mailbox(session, owner.workspace_id)
        sequence, (step,) = await make_bare_sequence(session, owner.workspace_id)
        for status in (MessageStatus.sent, MessageStatus.sent, MessageStatus.unconfirmed):
            lead = await make_lead(session, owner.workspace_id)
            enrollment = await make_enrollment(session, owner.workspace_id, sequence.id, lead.id)
            message = await queue_message(
                session, runtime.settings, box, lead, enrollment=enrollment, step=step
            )
            message.status = status
    page = await anon_client.get(f"/sequences/{sequence.id}")
    assert page.status_code == 200
    assert "2 sent · 0 queued · 0 bounced" in page.text
    assert re.search(r'href="/outbox\?status=unconfirmed"[^>]*>1 unconfirmed</a>', page.text)
    report = (await client.get(f"/v1/sequences/{sequence.id}/stats")).json()
    assert report["messages"]["sent"] == 2 and report["messages"]["unconfirmed"] == 1

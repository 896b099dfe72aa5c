from __future__ import annotations

import re
from typing import Any

import httpx

from leadflood.runtime import Runtime
from tests.support.accounts import Account, browser_login, csrf_of
from tests.support.sequences import make_lead, make_mailbox


async def _signed_in(client: httpx.AsyncClient, owner: Account) -> str:
    await browser_login(client, owner)
    return csrf_of((await client.get("/sequences/new")).text)


async def test_build_a_sequence_in_the_browser(
    anon_client: httpx.AsyncClient, owner: Account, runtime: Runtime
) -> None:
    token = await _signed_in(anon_client, owner)
    async with runtime.db.session() as session:
        box = await make_mailbox(session, owner.workspace_id, config={"host": "x"})
        lead = await make_lead(session, owner.workspace_id, first_name="Grace", company_name="Navy")
        other = await make_lead(session, owner.workspace_id, email=None)
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
        f"/sequences/{sid}/enroll", data={"source": "filter", "q": "Navy", "csrf_token": token}
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
        from tests.support.sequences import make_sequence

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

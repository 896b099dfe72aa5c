from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from leadflood.models import Message, Suppression, SuppressionKind, VerificationStatus
from leadflood.runtime import Runtime
from leadflood.sending import delivery
from tests.factories import make_lead, make_mailbox
from tests.support.accounts import Account, api_login
from tests.support.smtp_server import SmtpTestServer

STEP_1 = {
    "delay_amount": 0,
    "delay_unit": "hours",
    "variants": [
        {"subject": "Hi {{ first_name | default('there') }}", "body": "Hello {{ first_name }}"}
    ],
}
STEP_2 = {
    "delay_amount": 2,
    "delay_unit": "business_days",
    "variants": [{"subject": "", "body": "Following up, {{ first_name }}."}],
}
ALWAYS = {"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "23:59"}


async def _mailbox(runtime: Runtime, account: Account, config: dict[str, Any] | None = None) -> str:
    async with runtime.db.session() as session:
        box = await make_mailbox(session, account.workspace_id, config=config or {"host": "x"})
        return str(box.id)


async def _leads(runtime: Runtime, account: Account, n: int, **values: Any) -> list[str]:
    values = {"first_name": "Ada", "verification_status": VerificationStatus.valid} | values
    async with runtime.db.session() as session:
        return [
            str((await make_lead(session, account.workspace_id, **values)).id) for _ in range(n)
        ]


async def _ready_sequence(
    client: httpx.AsyncClient,
    mailbox_id: str,
    *,
    steps: tuple[dict[str, Any], ...] = (STEP_1, STEP_2),
) -> dict[str, Any]:
    created = await client.post(
        "/v1/sequences",
        json={
            "name": "Outreach",
            "timezone": "Europe/Berlin",
            "window": ALWAYS,
            "postal_address": "Acme, 1 Main St",
            "mailbox_ids": [mailbox_id],
        },
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    for step in steps:
        added = await client.post(f"/v1/sequences/{body['id']}/steps", json=step)
        assert added.status_code == 201, added.text
        body = added.json()
    return body


async def test_crud_steps_and_variants(
    client: httpx.AsyncClient, runtime: Runtime, owner: Account
) -> None:
    mailbox_id = await _mailbox(runtime, owner)
    seq = await _ready_sequence(client, mailbox_id)
    sid = seq["id"]
    assert [s["position"] for s in seq["steps"]] == [1, 2]
    assert seq["state"] == "draft" and seq["mailbox_ids"] == [mailbox_id]

    bad = await client.post(
        f"/v1/sequences/{sid}/steps",
        json={"variants": [{"subject": "Hi {{ frist_name }}", "body": "x"}]},
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]["field"] == "subject"

    step1 = seq["steps"][0]
    added = await client.post(
        f"/v1/sequences/{sid}/steps/{step1['id']}/variants",
        json={"subject": "Quick one, {{ first_name }}", "body": "B body", "weight": 3},
    )
    assert added.status_code == 201, added.text
    variants = added.json()["steps"][0]["variants"]
    assert [(v["label"], v["weight"]) for v in variants] == [("A", 1), ("B", 3)]
    b_id = variants[1]["id"]
    edited = await client.patch(
        f"/v1/sequences/{sid}/steps/{step1['id']}/variants/{b_id}", json={"weight": 5}
    )
    (b,) = [v for v in edited.json()["steps"][0]["variants"] if v["label"] == "B"]
    assert b["id"] == b_id and b["weight"] == 5 and b["body"] == "B body"
    deleted = await client.delete(f"/v1/sequences/{sid}/steps/{step1['id']}/variants/{b_id}")
    assert len(deleted.json()["steps"][0]["variants"]) == 1
    last = deleted.json()["steps"][0]["variants"][0]["id"]
    refused = await client.delete(f"/v1/sequences/{sid}/steps/{step1['id']}/variants/{last}")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "last_variant"

    moved = await client.post(
        f"/v1/sequences/{sid}/steps/{seq['steps'][1]['id']}/move", json={"position": 1}
    )
    assert [s["id"] for s in moved.json()["steps"]] == [seq["steps"][1]["id"], step1["id"]]
    patched = await client.patch(
        f"/v1/sequences/{sid}/steps/{step1['id']}", json={"delay_amount": 3}
    )
    assert patched.json()["steps"][1]["delay_amount"] == 3
    removed = await client.delete(f"/v1/sequences/{sid}/steps/{step1['id']}")
    assert len(removed.json()["steps"]) == 1

    renamed = await client.patch(f"/v1/sequences/{sid}", json={"name": "Renamed"})
    assert renamed.json()["name"] == "Renamed"
    assert (renamed.json()["min_score"], renamed.json()["require_verified_email"]) == (None, False)
    rules = await client.patch(
        f"/v1/sequences/{sid}", json={"min_score": 60, "require_verified_email": True}
    )
    assert (rules.json()["min_score"], rules.json()["require_verified_email"]) == (60, True)
    too_high = await client.patch(f"/v1/sequences/{sid}", json={"min_score": 101})
    assert too_high.status_code == 422
    cleared = await client.patch(f"/v1/sequences/{sid}", json={"min_score": None})
    assert cleared.json()["min_score"] is None and cleared.json()["require_verified_email"]
    listed = await client.get("/v1/sequences", params={"state": "draft"})
    assert [s["id"] for s in listed.json()["items"]] == [sid]
    assert (await client.get(f"/v1/sequences/{sid}")).json()["name"] == "Renamed"
    assert (await client.delete(f"/v1/sequences/{sid}")).status_code == 204
    assert (await client.get(f"/v1/sequences/{sid}")).status_code == 404


async def test_state_transitions_answer_409_when_invalid(
    client: httpx.AsyncClient, runtime: Runtime, owner: Account
) -> None:
    empty = (await client.post("/v1/sequences", json={"name": "Empty"})).json()
    not_ready = await client.post(f"/v1/sequences/{empty['id']}/activate")
    assert not_ready.status_code == 409
    problems = {p["problem"] for p in not_ready.json()["error"]["details"]["problems"]}
    assert {"no_steps", "no_mailbox", "no_postal_address"} <= problems
    paused_draft = await client.post(f"/v1/sequences/{empty['id']}/pause")
    assert paused_draft.status_code == 409
    assert paused_draft.json()["error"]["code"] == "invalid_transition"

    seq = await _ready_sequence(client, await _mailbox(runtime, owner))
    sid = seq["id"]
    assert (await client.post(f"/v1/sequences/{sid}/resume")).status_code == 409
    assert (await client.post(f"/v1/sequences/{sid}/activate")).json()["state"] == "active"
    assert (await client.post(f"/v1/sequences/{sid}/activate")).status_code == 409
    assert (await client.post(f"/v1/sequences/{sid}/pause")).json()["state"] == "paused"
    assert (await client.post(f"/v1/sequences/{sid}/resume")).json()["state"] == "active"
    in_use = await client.delete(f"/v1/sequences/{sid}")
    assert in_use.status_code == 409 and in_use.json()["error"]["code"] == "sequence_in_use"
    assert (await client.post(f"/v1/sequences/{sid}/archive")).json()["state"] == "archived"
    again = await client.post(f"/v1/sequences/{sid}/activate")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"
    frozen = await client.patch(f"/v1/sequences/{sid}", json={"name": "x"})
    assert frozen.status_code == 409


async def test_enroll_with_skip_reasons_then_pause_resume_stop(
    client: httpx.AsyncClient, runtime: Runtime, owner: Account
) -> None:
    seq = await _ready_sequence(client, await _mailbox(runtime, owner))
    sid = seq["id"]
    good = await _leads(runtime, owner, 3, company_name="Initech")
    invalid = await _leads(runtime, owner, 1, email=None)
    suppressed = await _leads(runtime, owner, 1, email="gone@prospect.example")
    async with runtime.db.session() as session:
        session.add(
            Suppression(
                workspace_id=owner.workspace_id,
                kind=SuppressionKind.email,
                value="gone@prospect.example",
                reason="unsubscribed",
            )
        )
    one = await client.post(f"/v1/sequences/{sid}/enrollments", json={"lead_id": good[0]})
    assert one.json() == {
        "enrolled": 1,
        "skipped": {"not_found": 0, "already_enrolled": 0, "suppressed": 0, "invalid": 0,
                    "active_elsewhere": 0, "below_min_score": 0, "unverified_email": 0},
    }  # fmt: skip
    many = await client.post(
        f"/v1/sequences/{sid}/enrollments",
        json={"lead_ids": [*good, *invalid, *suppressed, str(uuid.uuid4())]},
    )
    assert many.json()["enrolled"] == 2
    assert many.json()["skipped"] == {"not_found": 1, "already_enrolled": 1, "suppressed": 1,
                                      "invalid": 1, "active_elsewhere": 0, "below_min_score": 0,
                                      "unverified_email": 0}  # fmt: skip
    by_filter = await client.post(
        f"/v1/sequences/{sid}/enrollments", json={"filter": {"q": "Initech"}}
    )
    assert by_filter.json()["enrolled"] == 0
    assert by_filter.json()["skipped"]["already_enrolled"] == 3
    two_sources = await client.post(
        f"/v1/sequences/{sid}/enrollments", json={"lead_id": good[0], "lead_ids": good}
    )
    assert two_sources.status_code == 422

    listed = (await client.get(f"/v1/sequences/{sid}/enrollments")).json()["items"]
    assert len(listed) == 3 and all(e["lead_email"] for e in listed)
    first = listed[0]["id"]
    paused = await client.post(f"/v1/enrollments/{first}/pause")
    assert paused.json()["state"] == "paused"
    only_paused = await client.get(f"/v1/sequences/{sid}/enrollments", params={"state": "paused"})
    assert [e["id"] for e in only_paused.json()["items"]] == [first]
    assert (await client.post(f"/v1/enrollments/{first}/pause")).status_code == 409
    assert (await client.post(f"/v1/enrollments/{first}/resume")).json()["state"] == "active"
    stopped = await client.post(f"/v1/enrollments/{first}/stop")
    assert stopped.json()["state"] == "stopped" and stopped.json()["stop_reason"] == "manual"
    assert (await client.post(f"/v1/enrollments/{first}/resume")).status_code == 409
    bulk = await client.post(
        "/v1/enrollments/bulk",
        json={"action": "stop", "enrollment_ids": [e["id"] for e in listed]},
    )
    assert bulk.json() == {"changed": 2}
    stats = (await client.get(f"/v1/sequences/{sid}/stats")).json()
    assert stats["enrolled"] == 3 and stats["stopped_by_reason"] == {"manual": 3}
    assert [s["position"] for s in stats["steps"]] == [1, 2]


async def test_preview_renders_each_step_for_a_real_lead(
    client: httpx.AsyncClient, runtime: Runtime, owner: Account
) -> None:
    seq = await _ready_sequence(client, await _mailbox(runtime, owner))
    (lead_id,) = await _leads(runtime, owner, 1, first_name="Grace", timezone="America/New_York")
    response = await client.get(f"/v1/sequences/{seq['id']}/preview", params={"lead_id": lead_id})
    assert response.status_code == 200, response.text
    first, second = response.json()
    assert first["subject"] == "Hi Grace" and first["timezone"] == "America/New_York"
    assert second["subject"] == "Re: Hi Grace"
    assert "Following up, Grace." in second["body"] and "Acme, 1 Main St" in second["body"]
    assert second["send_at"] > first["send_at"]
    missing = await client.get(
        f"/v1/sequences/{seq['id']}/preview", params={"lead_id": str(uuid.uuid4())}
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "lead_not_found"
    async with runtime.db.session() as session:
        assert (await session.scalars(select(Message))).all() == []


async def test_test_send_goes_to_me_and_never_counts_as_the_leads(
    client: httpx.AsyncClient,
    anon_client: httpx.AsyncClient,
    runtime: Runtime,
    owner: Account,
) -> None:
    with SmtpTestServer() as smtp:
        await _check_test_send(client, anon_client, runtime, owner, smtp)


async def _check_test_send(
    client: httpx.AsyncClient,
    anon_client: httpx.AsyncClient,
    runtime: Runtime,
    owner: Account,
    smtp: SmtpTestServer,
) -> None:
    mailbox_id = await _mailbox(runtime, owner, smtp.config())
    seq = await _ready_sequence(client, mailbox_id)
    (lead_id,) = await _leads(runtime, owner, 1, first_name="Linus")
    body = {"lead_id": lead_id, "step": 1, "mailbox_id": mailbox_id}
    by_key = await client.post(f"/v1/sequences/{seq['id']}/test-send", json=body)
    assert by_key.status_code == 403 and by_key.json()["error"]["code"] == "user_required"
    tokens = await api_login(anon_client, owner)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    sent = await anon_client.post(
        f"/v1/sequences/{seq['id']}/test-send", json=body, headers=headers
    )
    assert sent.status_code == 202, sent.text
    assert sent.json()["to"] == owner.email and sent.json()["subject"] == "[Test] Hi Linus"
    no_step = await anon_client.post(
        f"/v1/sequences/{seq['id']}/test-send", json=body | {"step": 9}, headers=headers
    )
    assert no_step.status_code == 404

    await delivery.deliver_mailbox(runtime.db, runtime.settings, uuid.UUID(mailbox_id))
    (received,) = smtp.messages
    assert received.rcpt_tos == [owner.email]
    assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert received.message["X-Leadflood-Test"].startswith(f"sequence={seq['id']}")
    async with runtime.db.session() as session:
        (message,) = (await session.scalars(select(Message))).all()
        assert message.lead_id is None and message.enrollment_id is None
        assert message.status == "sent"
    stats = (await client.get(f"/v1/sequences/{seq['id']}/stats")).json()
    assert sum(stats["messages"].values()) == 0
    enrolled = await client.post(
        f"/v1/sequences/{seq['id']}/enrollments", json={"lead_id": lead_id}
    )
    assert enrolled.json()["enrolled"] == 1


async def test_another_workspaces_sequence_is_not_found(
    client: httpx.AsyncClient, runtime: Runtime, other_workspace: Account, app: Any
) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=other_workspace.headers
    ) as theirs:
        seq = await _ready_sequence(theirs, await _mailbox(runtime, other_workspace))
        (lead_id,) = await _leads(runtime, other_workspace, 1)
        await theirs.post(f"/v1/sequences/{seq['id']}/enrollments", json={"lead_id": lead_id})
        enrollment_id = (await theirs.get(f"/v1/sequences/{seq['id']}/enrollments")).json()[
            "items"
        ][0]["id"]
    for method, path in [
        ("get", f"/v1/sequences/{seq['id']}"),
        ("post", f"/v1/sequences/{seq['id']}/activate"),
        ("get", f"/v1/sequences/{seq['id']}/stats"),
        ("post", f"/v1/enrollments/{enrollment_id}/stop"),
    ]:
        response = await client.request(method, path)
        assert response.status_code == 404, (path, response.text)
    bulk = await client.post(
        "/v1/enrollments/bulk", json={"action": "stop", "enrollment_ids": [enrollment_id]}
    )
    assert bulk.json() == {"changed": 0}
    assert (await client.get("/v1/sequences")).json()["items"] == []


async def test_every_sequence_and_mailbox_route_hides_another_workspaces_rows(
    app: Any,
    anon_client: httpx.AsyncClient,
    runtime: Runtime,
    owner: Account,
    other_workspace: Account,
) -> None:
    """The auth matrix walks every route with made-up ids for these kinds; this one uses real
    rows of another workspace (sequence, step, variant, enrollment, mailbox)."""
    import re

    from tests.auth.openapi_walk import body_for, operations

    theirs = other_workspace.headers
    mailbox_id = await _mailbox(runtime, other_workspace)
    seq = await _ready_sequence(
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers=theirs
        ),
        mailbox_id,
    )
    (lead_id,) = await _leads(runtime, other_workspace, 1)
    await anon_client.post(
        f"/v1/sequences/{seq['id']}/enrollments", json={"lead_id": lead_id}, headers=theirs
    )
    listed = await anon_client.get(f"/v1/sequences/{seq['id']}/enrollments", headers=theirs)
    ids = {
        "sequence_id": seq["id"],
        "step_id": seq["steps"][0]["id"],
        "variant_id": seq["steps"][0]["variants"][0]["id"],
        "enrollment_id": listed.json()["items"][0]["id"],
        "mailbox_id": mailbox_id,
    }
    tokens = await api_login(anon_client, owner)
    mine = {"Authorization": f"Bearer {tokens['access_token']}"}
    schema = app.openapi()
    checked = 0
    for method, path, operation in operations(schema):
        params = re.findall(r"{(\w+)}", path)
        if not params or not set(params) <= set(ids):
            continue
        url = path.format(**ids)
        response = await anon_client.request(
            method,
            url,
            headers=mine,
            json=body_for(schema, operation),
            params={"lead_id": lead_id} if path.endswith("/preview") else None,
        )
        assert response.status_code == 404, f"{method.upper()} {url}: {response.text}"
        checked += 1
    assert checked >= 25
    after = await anon_client.get(f"/v1/sequences/{seq['id']}", headers=theirs)
    assert after.json()["state"] == "draft" and len(after.json()["steps"]) == 2


async def test_real_mail_cannot_start_while_its_links_point_at_this_machine(
    client: httpx.AsyncClient, runtime: Runtime, owner: Account, tmp_path: Any
) -> None:
    runtime.settings.environment = "development"  # outside automated tests
    runtime.settings.public_url = "http://127.0.0.1:8000"
    real = await _ready_sequence(client, await _mailbox(runtime, owner))
    refused = await client.post(f"/v1/sequences/{real['id']}/activate")
    assert refused.status_code == 409
    problems = refused.json()["error"]["details"]["problems"]
    assert [p["problem"] for p in problems] == ["public_url_private"]
    assert "PUBLIC_URL=https://" in problems[0]["message"]
    assert "127.0.0.1:8000" in problems[0]["message"]
    page = await client.get(f"/sequences/{real['id']}")
    assert "set PUBLIC_URL" in page.text

    # The demo's catcher sends no real mail; TEST_MODE sends only to the test recipients.
    caught = await _mailbox(runtime, owner, {"host": "127.0.0.1", "catcher_dir": str(tmp_path)})
    demo = await _ready_sequence(client, caught)
    assert (await client.post(f"/v1/sequences/{demo['id']}/activate")).status_code == 200
    runtime.settings.test_mode = True
    assert (await client.post(f"/v1/sequences/{real['id']}/activate")).status_code == 200
    assert (await client.post(f"/v1/sequences/{real['id']}/pause")).status_code == 200
    runtime.settings.test_mode = False
    runtime.settings.public_url = "https://outreach.acme.example"
    assert (await client.post(f"/v1/sequences/{real['id']}/resume")).status_code == 200

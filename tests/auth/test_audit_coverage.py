"""Every change to mailboxes, sequences, settings, suppressions, members, credentials and
webhooks leaves an entry in the audit log, with who made it: each change is made through the
API here and its entry looked up."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.support.accounts import Account
from tests.support.smtp_server import SmtpTestServer

ALWAYS = {"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "23:59"}

Change = Callable[[], Awaitable[httpx.Response]]


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def test_each_kind_of_change_writes_an_audit_entry(
    client: httpx.AsyncClient, make_user: Any, owner: Account, smtp: SmtpTestServer
) -> None:
    ids: dict[str, Any] = {}

    async def keep(name: str, response: httpx.Response, field: str = "id") -> httpx.Response:
        assert response.status_code < 300, response.text
        ids[name] = response.json()[field]
        return response

    async def create_mailbox() -> httpx.Response:
        body = {
            "name": "Sales", "provider": "smtp", "from_email": "sam@sender.example",
            "host": smtp.host, "port": smtp.port, "tls_mode": "none", "daily_cap": 30,
        }  # fmt: skip
        return await keep("mailbox", await client.post("/v1/mailboxes", json=body, headers=_key()))

    async def create_sequence() -> httpx.Response:
        body = {"name": "Audit", "window": ALWAYS, "postal_address": "Acme, 1 Main St",
                "mailbox_ids": [ids["mailbox"]]}  # fmt: skip
        return await keep("sequence", await client.post("/v1/sequences", json=body, headers=_key()))

    async def add_step() -> httpx.Response:
        step = {"channel": "email", "delay_amount": 0, "delay_unit": "days",
                "variants": [{"subject": "Hi {{first_name}}", "body": "Hello"}]}  # fmt: skip
        made = await client.post(
            f"/v1/sequences/{ids['sequence']}/steps", json=step, headers=_key()
        )
        ids["step"] = made.json()["steps"][0]["id"]
        return made

    async def add_suppression() -> httpx.Response:
        body = {"kind": "email", "value": "gone@x.example"}
        return await keep(
            "suppression", await client.post("/v1/suppressions", json=body, headers=_key())
        )

    async def add_webhook() -> httpx.Response:
        body = {"url": "https://hooks.example.com/in", "events": ["lead.created"]}
        return await keep("webhook", await client.post("/v1/webhooks", json=body, headers=_key()))

    async def member_id() -> str:
        viewer = await make_user(role="viewer", workspace=owner.workspace_id)
        members = (await client.get("/v1/members")).json()
        return next(m["id"] for m in members if m["user_id"] == str(viewer.user_id))

    async def change_role() -> httpx.Response:
        ids["member"] = await member_id()
        return await client.patch(f"/v1/members/{ids['member']}", json={"role": "member"})

    changes: list[tuple[str, str, Change]] = [
        ("mailboxes", "mailbox.created", create_mailbox),
        ("mailboxes", "mailbox.updated",
         lambda: client.patch(f"/v1/mailboxes/{ids['mailbox']}", json={"daily_cap": 40})),
        ("mailboxes", "mailbox.paused",
         lambda: client.post(f"/v1/mailboxes/{ids['mailbox']}/pause")),
        ("mailboxes", "mailbox.resumed",
         lambda: client.post(f"/v1/mailboxes/{ids['mailbox']}/resume")),
        ("sequences", "sequence.created", create_sequence),
        ("sequences", "sequence.updated",
         lambda: client.patch(f"/v1/sequences/{ids['sequence']}", json={"name": "Audit 2"})),
        ("sequences", "sequence.step_added", add_step),
        ("sequences", "sequence.step_updated",
         lambda: client.patch(f"/v1/sequences/{ids['sequence']}/steps/{ids['step']}",
                              json={"delay_amount": 2})),
        ("sequences", "sequence.activated",
         lambda: client.post(f"/v1/sequences/{ids['sequence']}/activate")),
        ("sequences", "sequence.paused",
         lambda: client.post(f"/v1/sequences/{ids['sequence']}/pause")),
        ("sequences", "sequence.archived",
         lambda: client.post(f"/v1/sequences/{ids['sequence']}/archive")),
        ("settings", "workspace.renamed",
         lambda: client.patch("/v1/workspaces/current", json={"name": "Acme Ltd"})),
        ("settings", "workspace.default_country_changed",
         lambda: client.patch("/v1/workspaces/current", json={"default_country": "DE"})),
        ("settings", "settings.enrichment_updated",
         lambda: client.put("/v1/settings/enrichment", json={"wanted_fields": ["phone"]})),
        ("suppressions", "suppression.added", add_suppression),
        ("suppressions", "suppression.removed",
         lambda: client.delete(f"/v1/suppressions/{ids['suppression']}")),
        ("members", "invitation.created",
         lambda: client.post("/v1/invitations", json={"email": "n@acme.example",
                                                       "role": "member"})),
        ("members", "member.role_changed", change_role),
        ("members", "member.removed", lambda: client.delete(f"/v1/members/{ids['member']}")),
        ("credentials", "credential.created",
         lambda: client.put("/v1/credentials/hunter", json={"secret": "hunter-key-1"})),
        ("credentials", "credential.updated",
         lambda: client.put("/v1/credentials/hunter", json={"secret": "hunter-key-2"})),
        ("credentials", "credential.deleted", lambda: client.delete("/v1/credentials/hunter")),
        ("webhooks", "webhook.created", add_webhook),
        ("webhooks", "webhook.updated",
         lambda: client.patch(f"/v1/webhooks/{ids['webhook']}", json={"enabled": False})),
        ("webhooks", "webhook.deleted", lambda: client.delete(f"/v1/webhooks/{ids['webhook']}")),
        ("mailboxes", "mailbox.deleted", lambda: client.delete(f"/v1/mailboxes/{ids['mailbox']}")),
    ]  # fmt: skip
    assert {area for area, _, _ in changes} == {
        "mailboxes", "sequences", "settings", "suppressions", "members", "credentials", "webhooks",
    }  # fmt: skip

    missing = []
    for area, action, change in changes:
        before = await _events(client, action)
        answer = await change()
        assert answer.status_code < 300, (action, answer.text)
        after = await _events(client, action)
        if len(after) != len(before) + 1:
            missing.append(f"{area}: {action}")
            continue
        assert "(owner key)" in (after[0]["actor"] or ""), (action, after[0])
    assert missing == []


async def _events(client: httpx.AsyncClient, action: str) -> list[dict[str, Any]]:
    answer = await client.get("/v1/audit-events", params={"action": action, "limit": 200})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items

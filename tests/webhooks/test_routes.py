"""/v1/webhooks: create (secret once), list, change, delete, deliveries, redeliver, test."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import httpx
from sqlalchemy import select

from leadflood.models import AuditEvent, ProviderCredential, WebhookDelivery
from leadflood.runtime import Runtime
from leadflood.webhooks import delivery
from tests.support.accounts import Account
from tests.support.processes import run_cli
from tests.webhooks.test_delivery import Receiver, verify


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def test_create_shows_the_secret_once_and_a_ping_is_signed_with_it(
    client: httpx.AsyncClient, runtime: Runtime, owner: Account
) -> None:
    made = await client.post(
        "/v1/webhooks",
        json={"url": "https://hooks.example.com/in", "events": ["lead.created"]},
        headers=_key(),
    )
    assert made.status_code == 201, made.text
    body = made.json()
    secret, endpoint_id = body["secret"], body["id"]
    assert secret.startswith("whsec_") and body["enabled"] is True
    listed = await client.get("/v1/webhooks")
    assert listed.status_code == 200 and "secret" not in listed.json()[0]
    assert "secret" not in (await client.get(f"/v1/webhooks/{endpoint_id}")).json()
    async with runtime.db.session() as session:  # encrypted at rest
        stored = (await session.scalars(select(ProviderCredential.ciphertext))).all()
        assert stored and all(secret not in c for c in stored)

    ping = await client.post(f"/v1/webhooks/{endpoint_id}/test", headers=_key())
    assert ping.status_code == 202, ping.text
    receiver = Receiver(500)
    async with receiver.client() as http, runtime.db.session() as session:
        await delivery.send_due(session, http)
    assert verify(secret, receiver.requests[0])

    page = await client.get(f"/v1/webhooks/{endpoint_id}/deliveries")
    assert page.status_code == 200
    [item] = page.json()["items"]
    assert item["event_type"] == "webhook.ping" and item["state"] == "pending"
    assert item["attempt_log"][0]["status_code"] == 500
    assert item["attempt_log"][0]["response_excerpt"] == "answer 500"

    again = await client.post(
        f"/v1/webhooks/{endpoint_id}/deliveries/{item['id']}/redeliver", headers=_key()
    )
    assert again.status_code == 202 and again.json()["message_id"] == item["message_id"]

    rotated = await client.patch(f"/v1/webhooks/{endpoint_id}", json={"rotate_secret": True})
    assert rotated.status_code == 200 and rotated.json()["secret"] not in (secret, None)
    off = await client.patch(f"/v1/webhooks/{endpoint_id}", json={"enabled": False})
    assert off.json()["enabled"] is False and "secret" not in off.json()
    refused = await client.post(f"/v1/webhooks/{endpoint_id}/test", headers=_key())
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "webhook_endpoint_disabled"

    assert (await client.delete(f"/v1/webhooks/{endpoint_id}")).status_code == 204
    gone = await client.get(f"/v1/webhooks/{endpoint_id}/deliveries")
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "webhook_endpoint_not_found"
    async with runtime.db.session() as session:
        actions = set((await session.scalars(select(AuditEvent.action))).all())
        assert {"webhook.created", "webhook.updated", "webhook.deleted"} <= actions
        assert (await session.scalars(select(WebhookDelivery))).all() == []


async def test_bad_input_has_stable_codes(client: httpx.AsyncClient) -> None:
    for payload, code in (
        ({"url": "https://h.example.com", "events": ["lead.eaten"]}, "webhook_event_unknown"),
        ({"url": "http://192.168.1.5/x", "events": ["lead.created"]}, "webhook_url_invalid"),
        ({"url": "https://h.example.com", "events": []}, "validation_error"),
    ):
        answer = await client.post("/v1/webhooks", json=payload, headers=_key())
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == code


async def test_another_workspace_sees_nothing(
    client: httpx.AsyncClient, app: object, other_workspace: Account
) -> None:
    made = await client.post(
        "/v1/webhooks",
        json={"url": "https://hooks.example.com/in", "events": ["lead.created"]},
        headers=_key(),
    )
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=other_workspace.headers
    ) as other:
        answer = await other.get(f"/v1/webhooks/{made.json()['id']}")
        assert answer.status_code == 404
        assert (await other.get("/v1/webhooks")).json() == []


async def test_cli_create_list_deliveries(
    tmp_path: Path, database_url: str, runtime: Runtime, owner: Account
) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(tmp_path, database_url, "webhooks", *args, "--workspace", "Acme")

    made = cli("create", "https://hooks.example.com/in", "-e", "lead.created", "--json")
    assert made.returncode == 0, made.stderr
    row = json.loads(made.stdout)
    assert row["secret"].startswith("whsec_")
    listed = cli("list", "--json")
    assert json.loads(listed.stdout)[0]["id"] == row["id"]
    assert cli("test", row["id"]).returncode == 0
    shown = cli("deliveries", row["id"], "--json")
    assert json.loads(shown.stdout)[0]["event_type"] == "webhook.ping"
    bad = cli("create", "http://localhost/x", "-e", "lead.created")
    assert bad.returncode == 1 and "webhook_url_invalid" in bad.stderr
    assert cli("delete", row["id"]).returncode == 0

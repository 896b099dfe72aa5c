"""Idempotency-Key on the API's POSTs that create or send."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update

from leadflood.models import IdempotencyKey, IdempotencyState, JobExecution, Lead
from leadflood.system import service as system
from leadflood.web.deps import MemberDep
from leadflood.web.idempotency import Idempotent, idempotency_key
from tests.auth.openapi_walk import api_routes

LEAD = {"email": "ada@example.com", "first_name": "Ada"}


async def _count(runtime, model: Any, workspace_id: uuid.UUID) -> int:
    async with runtime.db.sessions() as session:
        query = select(func.count()).select_from(model).where(model.workspace_id == workspace_id)
        return int(await session.scalar(query) or 0)


async def _keys(runtime) -> list[IdempotencyKey]:
    async with runtime.db.sessions() as session:
        return list((await session.scalars(select(IdempotencyKey))).all())


async def test_a_retry_replays_the_first_response_and_creates_nothing_twice(
    client, runtime, owner
) -> None:
    first = await client.post("/v1/leads", json=LEAD, headers={"Idempotency-Key": "lead-ada-1"})
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    again = await client.post("/v1/leads", json=LEAD, headers={"Idempotency-Key": "lead-ada-1"})
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    # The same JSON written differently (key order, spacing) is the same request; the draft's
    # quoted form of the key is the same key.
    reordered = json.dumps({"first_name": "Ada", "email": "ada@example.com"}, indent=2)
    third = await client.post(
        "/v1/leads",
        content=reordered,
        headers={"Idempotency-Key": '"lead-ada-1"', "content-type": "application/json"},
    )
    assert third.headers["idempotent-replayed"] == "true" and third.content == first.content
    assert await _count(runtime, Lead, owner.workspace_id) == 1
    assert await _count(runtime, JobExecution, owner.workspace_id) == 1
    [key] = await _keys(runtime)
    assert key.state == IdempotencyState.completed and key.response_status == 201
    assert (key.method, key.path) == ("POST", "/v1/leads")


async def test_a_file_upload_is_the_same_request_whatever_its_boundary(client, runtime) -> None:
    csv = b"email,first_name\nada@example.com,Ada\n"
    headers = {"Idempotency-Key": "upload-1"}
    sent = [
        await client.post(
            "/v1/imports",
            files={"file": ("leads.csv", csv, "text/csv")},
            data={"on_duplicate": "skip"},
            headers=headers,
        )
        for _ in range(2)
    ]
    assert sent[0].status_code == 201, sent[0].text
    boundaries = {response.request.headers["content-type"] for response in sent}
    assert len(boundaries) == 2  # the client chose a new multipart boundary
    assert sent[1].headers["idempotent-replayed"] == "true"
    assert sent[1].content == sent[0].content
    changed = await client.post(
        "/v1/imports", files={"file": ("leads.csv", csv + b"x@y.com,X\n", "text/csv")},
        headers=headers,
    )  # fmt: skip
    assert changed.json()["error"]["code"] == "idempotency_key_reused"


async def test_without_a_key_every_post_runs(client, runtime, owner) -> None:
    assert (await client.post("/v1/leads", json=LEAD)).status_code == 201
    assert (await client.post("/v1/leads", json=LEAD)).status_code == 409  # duplicate email
    assert await _keys(runtime) == []


async def test_the_same_key_with_another_request_is_refused(client, runtime, owner) -> None:
    headers = {"Idempotency-Key": "k-1"}
    assert (await client.post("/v1/leads", json=LEAD, headers=headers)).status_code == 201
    other = await client.post(
        "/v1/leads", json={**LEAD, "email": "grace@example.com"}, headers=headers
    )
    assert other.status_code == 422
    error = other.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert error["details"] == {"first_request": "POST /v1/leads"}
    elsewhere = await client.post("/v1/icps", json={"name": "x"}, headers=headers)
    assert elsewhere.json()["error"]["code"] == "idempotency_key_reused"
    assert await _count(runtime, Lead, owner.workspace_id) == 1


async def test_a_retry_while_the_first_request_runs_is_409(app, client, runtime) -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    runs: list[int] = []

    @app.post("/v1/test/slow", dependencies=[Idempotent])
    async def slow(member: MemberDep) -> dict[str, Any]:
        runs.append(1)
        entered.set()
        await release.wait()
        return {"run": len(runs)}

    headers = {"Idempotency-Key": "slow-1"}
    first = asyncio.create_task(client.post("/v1/test/slow", json={"a": 1}, headers=headers))
    await asyncio.wait_for(entered.wait(), 10)
    busy = await client.post("/v1/test/slow", json={"a": 1}, headers=headers)
    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "idempotency_key_in_flight"
    assert busy.headers["retry-after"] == "1"
    release.set()
    done = await asyncio.wait_for(first, 10)
    assert done.status_code == 200 and done.json() == {"run": 1}
    replay = await client.post("/v1/test/slow", json={"a": 1}, headers=headers)
    assert replay.json() == {"run": 1} and replay.headers["idempotent-replayed"] == "true"
    assert runs == [1]


async def test_a_failed_request_frees_its_key(app, client, runtime) -> None:
    calls: list[int] = []

    @app.post("/v1/test/flaky", dependencies=[Idempotent])
    async def flaky(member: MemberDep) -> dict[str, int]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return {"calls": len(calls)}

    headers = {"Idempotency-Key": "flaky-1"}
    failed = await client.post("/v1/test/flaky", json={}, headers=headers)
    assert failed.status_code == 500
    assert await _keys(runtime) == []
    retried = await client.post("/v1/test/flaky", json={}, headers=headers)
    assert retried.status_code == 200 and retried.json() == {"calls": 2}
    assert "idempotent-replayed" not in retried.headers


async def test_a_request_that_died_before_committing_runs_again(client, runtime, owner) -> None:
    headers = {"Idempotency-Key": "died-1"}
    assert (await client.post("/v1/leads", json=LEAD, headers=headers)).status_code == 201
    # What a process killed mid-request leaves: the key claimed, unlocked, its work rolled back.
    async with runtime.db.session() as session:
        await session.execute(
            update(IdempotencyKey).values(
                state=IdempotencyState.in_flight, response_status=None, response_body=None
            )
        )
        await session.execute(update(Lead).values(email="gone@example.com"))
    again = await client.post("/v1/leads", json=LEAD, headers=headers)
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers
    assert await _count(runtime, Lead, owner.workspace_id) == 2


async def test_refusals_before_the_operation_runs_are_not_kept(
    client, runtime, owner, make_user
) -> None:
    headers = {"Idempotency-Key": "refused-1"}
    invalid = await client.post("/v1/leads", json={"email": "not an email"}, headers=headers)
    assert invalid.json()["error"]["code"] == "validation_error"
    viewer = await make_user(role="viewer", workspace=owner.workspace_id)
    forbidden = await client.post(
        "/v1/leads", json=LEAD, headers={**headers, "X-API-Key": viewer.api_key}
    )
    assert forbidden.status_code == 403
    assert await _keys(runtime) == []
    assert (await client.post("/v1/leads", json=LEAD, headers=headers)).status_code == 201


async def test_an_error_of_the_operation_itself_is_replayed(client) -> None:
    headers = {"Idempotency-Key": "missing-lead"}
    path = f"/v1/leads/{uuid.uuid4()}/enrich"
    first = await client.post(path, headers=headers)
    assert first.status_code == 404
    again = await client.post(path, headers=headers)
    assert again.status_code == 404 and again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"


async def test_keys_belong_to_a_workspace(app, client, runtime, owner, other_workspace) -> None:
    headers = {"Idempotency-Key": "shared-key"}
    mine = await client.post("/v1/leads", json=LEAD, headers=headers)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=other_workspace.headers
    ) as globex:
        theirs = await globex.post(
            "/v1/leads", json={**LEAD, "email": "grace@example.com"}, headers=headers
        )
    assert mine.status_code == theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert mine.json()["lead_id"] != theirs.json()["lead_id"]
    assert await _count(runtime, Lead, owner.workspace_id) == 1
    assert await _count(runtime, Lead, other_workspace.workspace_id) == 1


async def test_malformed_keys_are_400(client, runtime) -> None:
    for bad in ["", "has space", "x" * 256, 'quo"te', "caf\u00e9"]:
        response = await client.post(
            "/v1/leads", json=LEAD, headers={"Idempotency-Key": bad.encode()}
        )
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert await _keys(runtime) == []


async def test_the_hourly_clean_up_forgets_keys_after_24_hours(client, runtime, owner) -> None:
    headers = {"Idempotency-Key": "old-key"}
    assert (await client.post("/v1/leads", json=LEAD, headers=headers)).status_code == 201
    now = datetime.now(UTC)
    async with runtime.db.session() as session:
        counts = await system.clean_up(session, now=now + timedelta(hours=23))
    assert counts["idempotency_keys"] == 0
    async with runtime.db.session() as session:
        counts = await system.clean_up(session, now=now + timedelta(hours=24, minutes=1))
    assert counts["idempotency_keys"] == 1
    assert await _keys(runtime) == []
    fresh = await client.post(
        "/v1/leads", json={**LEAD, "email": "grace@example.com"}, headers=headers
    )
    assert fresh.status_code == 201 and "idempotent-replayed" not in fresh.headers


async def test_a_key_older_than_a_day_starts_again_before_the_clean_up(client, runtime) -> None:
    headers = {"Idempotency-Key": "stale-key"}
    assert (await client.post("/v1/leads", json=LEAD, headers=headers)).status_code == 201
    async with runtime.db.session() as session:
        await session.execute(
            update(IdempotencyKey).values(created_at=datetime.now(UTC) - timedelta(hours=25))
        )
    other = await client.post(
        "/v1/leads", json={**LEAD, "email": "grace@example.com"}, headers=headers
    )
    assert other.status_code == 201 and "idempotent-replayed" not in other.headers


# POSTs that take no key, and why: they act outside a workspace (signing in, a new workspace),
# return a secret shown once (which a stored response would keep in clear text), or only move a
# row between states (a second call changes nothing, or answers 409).
NOT_IDEMPOTENT = {
    "/v1/inbound/{kind}/{token}": "a provider webhook, deduplicated by its event id",
    "/v1/auth/login": "signs in; no workspace yet",
    "/v1/auth/refresh": "rotates a refresh token; a replay would hand out a used token pair",
    "/v1/auth/logout": "ends a session",
    "/v1/auth/password-reset": "anonymous, outside any workspace; a repeat mails a newer link",
    "/v1/auth/password-reset/confirm": "spends a single-use token; a repeat answers 400",
    "/v1/auth/verify-email": "acts on the user, outside a workspace; a repeat mails a newer link",
    "/v1/auth/verify-email/confirm": "spends a single-use token; a repeat answers 400",
    "/v1/auth/totp/setup": "returns the TOTP secret once",
    "/v1/auth/totp/enable": "returns the recovery codes once",
    "/v1/auth/totp/disable": "a state change",
    "/v1/workspaces": "acts outside a workspace (a user's new workspace)",
    "/v1/invitations": "returns the invitation token once",
    "/v1/invitations/accept": "signs in; no workspace yet",
    "/v1/api-keys": "returns the key's secret once",
    "/v1/mailboxes/{mailbox_id}/check": "a connection test; creates and sends nothing",
    "/v1/mailboxes/{mailbox_id}/pause": "a state change",
    "/v1/mailboxes/{mailbox_id}/resume": "a state change",
    "/v1/sequences/{sequence_id}/activate": "a state change",
    "/v1/sequences/{sequence_id}/pause": "a state change",
    "/v1/sequences/{sequence_id}/resume": "a state change",
    "/v1/sequences/{sequence_id}/archive": "a state change",
    "/v1/sequences/{sequence_id}/steps/{step_id}/move": "reorders steps",
    "/v1/enrollments/{enrollment_id}/pause": "a state change",
    "/v1/enrollments/{enrollment_id}/resume": "a state change",
    "/v1/enrollments/{enrollment_id}/stop": "a state change",
    "/v1/enrollments/bulk": "state changes (pause, resume, stop)",
}


def test_every_post_that_creates_or_sends_takes_a_key(app) -> None:
    posts = {
        route.path: route
        for route in api_routes(app)
        if "POST" in route.methods and route.path.startswith("/v1/") and route.include_in_schema
    }
    taking = {
        path
        for path, route in posts.items()
        if any(dep.call is idempotency_key for dep in route.dependant.dependencies)
    }
    assert len(taking) >= 20, taking
    assert set(posts) - taking == set(NOT_IDEMPOTENT), "a POST neither takes a key nor says why"
    schema = app.openapi()
    parameter = schema["components"]["parameters"]["IdempotencyKey"]
    assert parameter["in"] == "header" and parameter["name"] == "Idempotency-Key"
    for path in taking:
        refs = schema["paths"][path]["post"]["parameters"]
        assert {"$ref": "#/components/parameters/IdempotencyKey"} in refs, path
    for path in NOT_IDEMPOTENT:
        assert "Idempotency-Key" not in json.dumps(schema["paths"][path]["post"]), path

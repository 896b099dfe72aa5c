"""Dead jobs through the API: listed with their error, replayed one by one or by task, audited,
and scoped to their workspace (the instance's own jobs to owners)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.support import dead_jobs
from tests.support.dead_jobs import ERROR, TASK, make_dead_jobs
from tests.support.jobs import drain


def _ids(page: dict) -> list[int]:
    return [job["id"] for job in page["items"]]


async def test_a_dead_job_is_listed_with_its_error_then_replayed(client, runtime, owner) -> None:
    [job_id] = await make_dead_jobs(runtime, owner.workspace_id)
    failed = (await client.get("/v1/jobs", params={"status": "failed"})).json()
    [job] = failed["items"]
    assert job["id"] == job_id and job["task"] == TASK and job["status"] == "failed"
    assert job["error"] == f"ProviderRefused: {ERROR}"
    assert job["attempts"] == 1 and job["scope"] == "workspace" and job["subject_type"] == "lead"
    assert job["args"]["lead_id"] == job["subject_id"]
    detail = (await client.get(f"/v1/jobs/{job_id}")).json()
    assert [e["type"] for e in detail["events"]] == ["deferred", "started", "failed"]
    assert (await client.get("/v1/jobs", params={"status": "completed"})).json()["items"] == []

    dead_jobs.cause["broken"] = False  # the cause is fixed
    replayed = await client.post(f"/v1/jobs/{job_id}/replay")
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["status"] == "queued" and replayed.json()["id"] == job_id
    again = await client.post(f"/v1/jobs/{job_id}/replay")
    assert again.status_code == 409 and again.json()["error"]["code"] == "job_not_failed"
    await drain(runtime)
    done = (await client.get(f"/v1/jobs/{job_id}")).json()
    assert done["status"] == "completed" and done["attempts"] == 2
    kinds = [e["type"] for e in done["events"]]
    assert kinds[:3] == ["deferred", "started", "failed"] and "retried" in kinds
    assert kinds[-2:] == ["started", "succeeded"]
    events = (await client.get("/v1/audit-events")).json()["items"]
    [audited] = [e for e in events if e["action"] == "job.replayed"]
    assert audited["target_id"] == str(job_id) and audited["details"]["task"] == TASK


async def test_the_dead_jobs_of_a_task_are_replayed_together(client, runtime, owner) -> None:
    job_ids = await make_dead_jobs(runtime, owner.workspace_id, count=3)
    dead_jobs.cause["broken"] = False
    body = {"task": TASK, "status": "failed"}
    result = (await client.post("/v1/jobs/replay", json=body)).json()
    assert sorted(result["replayed"]) == sorted(job_ids)
    assert result["skipped"] == [] and result["remaining"] is False
    again = (await client.post("/v1/jobs/replay", json=body)).json()
    assert again["replayed"] == []
    await drain(runtime)
    statuses = (await client.get("/v1/jobs", params={"task": TASK})).json()["items"]
    assert {job["status"] for job in statuses} == {"completed"}
    events = (await client.get("/v1/audit-events")).json()["items"]
    [audited] = [e for e in events if e["action"] == "jobs.replayed"]
    assert audited["details"]["count"] == 3
    wrong = await client.post("/v1/jobs/replay", json={"task": TASK, "status": "completed"})
    assert wrong.status_code == 422


async def test_a_replay_that_would_double_a_waiting_job_is_refused(client, runtime, owner) -> None:
    from leadflood import jobs

    [dead] = await make_dead_jobs(runtime, owner.workspace_id, queueing_lock="fragile:one")
    async with runtime.db.session() as session:
        waiting = await jobs.defer(session, TASK, queueing_lock="fragile:one", lead_id="x")
    refused = await client.post(f"/v1/jobs/{dead}/replay")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "job_already_queued"
    assert (await client.get(f"/v1/jobs/{dead}")).json()["status"] == "failed"
    bulk = (await client.post("/v1/jobs/replay", json={"task": TASK, "status": "failed"})).json()
    assert bulk["replayed"] == [] and [s["id"] for s in bulk["skipped"]] == [dead]
    assert waiting != dead


async def test_jobs_are_scoped_to_their_workspace_and_the_instance_to_owners(
    app, client, runtime, owner, other_workspace, make_user
) -> None:
    [mine] = await make_dead_jobs(runtime, owner.workspace_id)
    [theirs] = await make_dead_jobs(runtime, other_workspace.workspace_id)
    [instance] = await make_dead_jobs(runtime, None)
    assert _ids((await client.get("/v1/jobs")).json()) == [mine]
    assert (await client.get(f"/v1/jobs/{theirs}")).status_code == 404
    assert (await client.post(f"/v1/jobs/{theirs}/replay")).status_code == 404
    instance_jobs = (await client.get("/v1/jobs", params={"scope": "instance"})).json()
    assert instance in _ids(instance_jobs) and mine not in _ids(instance_jobs)
    assert {"system.heartbeat", TASK} <= {job["task"] for job in instance_jobs["items"]}
    own_instance = (await client.get("/v1/jobs", params={"scope": "instance", "task": TASK})).json()
    assert _ids(own_instance) == [instance]
    assert own_instance["items"][0]["scope"] == "instance"
    assert own_instance["items"][0]["error"] is None  # only the worker's log has it
    both = (await client.get("/v1/jobs", params={"scope": "all", "task": TASK})).json()
    assert _ids(both) == [instance, mine]

    admin = await make_user(role="admin", workspace=owner.workspace_id)
    viewer = await make_user(role="viewer", workspace=owner.workspace_id)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        as_admin = {"X-API-Key": admin.api_key}
        refused = await other.get("/v1/jobs", params={"scope": "instance"}, headers=as_admin)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "instance_jobs_owner_only"
        assert (await other.get(f"/v1/jobs/{instance}", headers=as_admin)).status_code == 404
        as_viewer = {"X-API-Key": viewer.api_key}
        assert _ids((await other.get("/v1/jobs", headers=as_viewer)).json()) == [mine]
        assert (await other.post(f"/v1/jobs/{mine}/replay", headers=as_viewer)).status_code == 403
        bulk = {"task": TASK, "status": "failed"}
        by_admin = await other.post("/v1/jobs/replay", json=bulk, headers=as_admin)
        assert by_admin.json()["replayed"] == [mine]  # not the instance's, not Globex's
    assert (await client.post(f"/v1/jobs/{instance}/replay")).status_code == 200


async def test_filters_and_pages(client, runtime, owner) -> None:
    job_ids = await make_dead_jobs(runtime, owner.workspace_id, count=3)
    newest_first = sorted(job_ids, reverse=True)
    first = (await client.get("/v1/jobs", params={"limit": 2})).json()
    assert _ids(first) == newest_first[:2] and first["prev_cursor"] is None
    second = await client.get("/v1/jobs", params={"limit": 2, "cursor": first["next_cursor"]})
    assert _ids(second.json()) == newest_first[2:] and second.json()["next_cursor"] is None
    back = await client.get("/v1/jobs", params={"limit": 2, "cursor": second.json()["prev_cursor"]})
    assert _ids(back.json()) == newest_first[:2]
    assert (await client.get("/v1/jobs", params={"task": "leads.enrich"})).json()["items"] == []
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    assert (await client.get("/v1/jobs", params={"since": later})).json()["items"] == []
    earlier = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    assert len((await client.get("/v1/jobs", params={"since": earlier})).json()["items"]) == 3
    naive = await client.get("/v1/jobs", params={"since": "2026-01-01T00:00:00"})
    assert naive.status_code == 422 and naive.json()["error"]["code"] == "invalid_job_filter"
    bad = await client.get("/v1/jobs", params={"status": "dead"})
    assert bad.status_code == 422
    broken = await client.get("/v1/jobs", params={"cursor": "not-a-cursor"})
    assert broken.status_code == 422

"""API → database → job → worker → database, on the real queue."""

from __future__ import annotations

from leadflood.runtime import Runtime
from tests.factories import SANDBOX_SETTINGS, universe_email
from tests.support.jobs import drain, job_rows, make_due


async def _sandbox(client) -> None:
    response = await client.put("/v1/settings/enrichment", json=SANDBOX_SETTINGS)
    assert response.status_code == 200, response.text


async def _create(client, email: str) -> dict:
    response = await client.post("/v1/leads", json={"email": email, "first_name": "Ada"})
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_fresh_workspace_invents_nothing_about_a_real_lead(client, runtime) -> None:
    settings = (await client.get("/v1/settings/enrichment")).json()
    assert settings["waterfall"] == [] and settings["verifier"] == "none"
    created = await _create(client, "ada@lovelace-analytics.com")
    await drain(runtime)
    lead = (await client.get(f"/v1/leads/{created['lead_id']}")).json()
    for name in ("title", "phone", "linkedin_url", "country", "company_name", "timezone"):
        assert lead[name] is None, name
    assert lead["first_name"] == "Ada"


async def test_the_sandbox_finds_nobody_outside_its_universe(client, runtime) -> None:
    await _sandbox(client)
    created = await _create(client, "ada@lovelace-analytics.com")
    await drain(runtime)
    lead = (await client.get(f"/v1/leads/{created['lead_id']}")).json()
    assert lead["title"] is None and lead["phone"] is None and lead["linkedin_url"] is None


async def test_worker_enriches_a_new_lead(client, runtime: Runtime) -> None:
    await _sandbox(client)
    created = await _create(client, universe_email(10))
    await drain(runtime)
    lead = (await client.get(f"/v1/leads/{created['lead_id']}")).json()
    assert lead["status"] == "enriched"
    assert lead["enriched_at"] is not None
    assert lead["first_name"] == "Ada"  # what the user gave is never overwritten
    assert lead["title"] and lead["company_name"] and lead["timezone"]
    job = (await client.get(f"/v1/jobs/{created['job_id']}")).json()
    assert job["status"] == "completed"
    assert job["attempts"] == 1
    assert job["error"] is None


async def test_permanent_failure_fails_the_lead_at_once_with_the_error(client, runtime) -> None:
    await _sandbox(client)
    created = await _create(client, "nobody@fail.example")
    await drain(runtime)
    lead = (await client.get(f"/v1/leads/{created['lead_id']}")).json()
    assert lead["status"] == "failed"
    assert "no person found" in lead["error"]
    job = (await client.get(f"/v1/jobs/{created['job_id']}")).json()
    assert (job["status"], job["attempts"]) == ("failed", 1)
    assert "PermanentProviderError" in job["error"]


async def test_temporary_failures_retry_three_times_then_fail(client, runtime) -> None:
    await _sandbox(client)
    created = await _create(client, "sometimes@flaky.example")
    for expected_attempts in (1, 2):
        await drain(runtime)
        job = (await client.get(f"/v1/jobs/{created['job_id']}")).json()
        assert (job["status"], job["attempts"]) == ("queued", expected_attempts)
        lead = (await client.get(f"/v1/leads/{created['lead_id']}")).json()
        assert lead["status"] == "new"
        [queued] = [j for j in await job_rows(runtime) if j["task_name"] == "leads.enrich"]
        assert queued["status"] == "todo"
        await make_due(runtime)
    await drain(runtime)
    job = (await client.get(f"/v1/jobs/{created['job_id']}")).json()
    assert (job["status"], job["attempts"]) == ("failed", 3)
    lead = (await client.get(f"/v1/leads/{created['lead_id']}")).json()
    assert lead["status"] == "failed"
    assert lead["error"]


async def test_running_the_job_again_changes_nothing(client, runtime) -> None:
    from leadflood.enrichment import service as enrichment

    await _sandbox(client)
    created = await _create(client, universe_email(20))
    await drain(runtime)
    before = (await client.get(f"/v1/leads/{created['lead_id']}")).json()
    async with runtime.db.session() as session:
        import uuid

        await enrichment.enrich_with(
            session, uuid.UUID(created["lead_id"]), runtime.providers.enricher()
        )
    after = (await client.get(f"/v1/leads/{created['lead_id']}")).json()
    assert after == before

"""Search runs against Apollo's documented search shape (POST /mixed_people/api_search) through
httpx.MockTransport: retries honour Retry-After, validation errors fail at once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from leadflood.auth import credentials
from leadflood.auth.principal import CurrentMember
from leadflood.models import Role, SearchRunState, Workspace
from leadflood.providers.registry import ProviderRegistry
from tests.support.accounts import Account
from tests.support.icps import make_icp, reload_run, start_run
from tests.support.jobs import drain, job_rows, make_due

TOTAL = 250


def person(n: int) -> dict[str, Any]:
    return {
        "id": f"5f{n:022x}",
        "first_name": f"Ada{n}",
        "last_name": "Lovelace",
        "email": f"ada{n}@analytical{n % 7}.com",
        "title": "VP Sales",
        "seniority": "vp",
        "departments": ["master_sales"],
        "linkedin_url": f"http://www.linkedin.com/in/ada-{n}",
        "country": "United Kingdom",
        "organization": {
            "name": f"Analytical {n % 7}",
            "primary_domain": f"analytical{n % 7}.com",
            "estimated_num_employees": 120,
            "industry": "computer software",
        },
    }


class FakeApollo:
    """Answers pages of TOTAL people; `script` maps (page, call number) to an error answer."""

    def __init__(self, script: dict[tuple[int, int], httpx.Response] | None = None) -> None:
        self.script = script or {}
        self.calls: list[int] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path.endswith("/mixed_people/api_search")
        assert request.headers["x-api-key"] == "workspace-key"
        body = json.loads(request.content)
        page, per_page = body["page"], body["per_page"]
        self.calls.append(page)
        scripted = self.script.get((page, self.calls.count(page)))
        if scripted is not None:
            return scripted
        start = (page - 1) * per_page
        people = [person(n) for n in range(start, min(start + per_page, TOTAL))]
        return httpx.Response(200, json={"people": people, "total_entries": TOTAL})


@pytest.fixture
async def apollo(runtime, owner: Account) -> Any:
    """Apollo with the workspace's own key (Settings → Providers), on a mock transport."""

    def install(fake: FakeApollo) -> FakeApollo:
        runtime.providers = ProviderRegistry(runtime.settings, transport=httpx.MockTransport(fake))
        return fake

    async with runtime.db.session() as session:
        workspace = await session.get(Workspace, owner.workspace_id)
        assert workspace is not None
        actor = CurrentMember(workspace=workspace, role=Role.owner)
        await credentials.set_secret(session, actor, "apollo", "workspace-key")
    return install


async def _job(runtime, job_id: int) -> dict[str, Any]:
    return next(row for row in await job_rows(runtime) if row["id"] == job_id)


async def test_an_apollo_run_upserts_every_page(runtime, owner: Account, apollo) -> None:
    fake = apollo(FakeApollo())
    icp = await make_icp(runtime, owner.workspace_id, criteria={"titles": ["VP Sales"]})
    run, _ = await start_run(runtime, owner.workspace_id, icp.id, source="apollo", max_results=300)
    await drain(runtime)
    run = await reload_run(runtime, run.id)
    assert run.state == SearchRunState.completed, run.error
    assert (run.found, run.created, run.pages_done, fake.calls) == (TOTAL, TOTAL, 3, [1, 2, 3])


async def test_a_429_is_retried_after_retry_after_and_resumes(
    runtime, owner: Account, apollo
) -> None:
    limited = httpx.Response(429, json={"error": "rate limited"}, headers={"Retry-After": "7"})
    fake = apollo(FakeApollo({(2, 1): limited}))
    icp = await make_icp(runtime, owner.workspace_id)
    run, _ = await start_run(runtime, owner.workspace_id, icp.id, source="apollo", max_results=300)
    await drain(runtime)
    waiting = await reload_run(runtime, run.id)
    assert waiting.state == SearchRunState.running and waiting.pages_done == 1
    assert waiting.error is not None and "retrying" in waiting.error
    async with runtime.db.session() as session:
        delay = await session.scalar(
            text("SELECT scheduled_at FROM procrastinate_jobs WHERE id = :id"),
            {"id": run.job_id},
        )
    assert 5 <= (delay - datetime.now(UTC)).total_seconds() <= 8
    await make_due(runtime)
    await drain(runtime)
    done = await reload_run(runtime, run.id)
    assert done.state == SearchRunState.completed and done.error is None
    assert fake.calls == [1, 2, 2, 3]  # page 1 was not fetched again
    assert done.created == TOTAL
    assert (await _job(runtime, run.job_id))["attempts"] == 2


async def test_a_validation_error_fails_the_run_at_once(runtime, owner: Account, apollo) -> None:
    invalid = httpx.Response(422, json={"error": "person_titles is invalid"})
    apollo(FakeApollo({(1, 1): invalid}))
    icp = await make_icp(runtime, owner.workspace_id)
    run, _ = await start_run(runtime, owner.workspace_id, icp.id, source="apollo")
    await drain(runtime)
    failed = await reload_run(runtime, run.id)
    assert failed.state == SearchRunState.failed
    assert failed.error == "apollo (422): apollo: person_titles is invalid"
    job = await _job(runtime, run.job_id)
    assert (job["status"], job["attempts"]) == ("failed", 1)


async def test_server_errors_give_up_after_four_attempts(runtime, owner: Account, apollo) -> None:
    down = httpx.Response(503, json={"error": "unavailable"})
    apollo(FakeApollo({(1, n): down for n in range(1, 10)}))
    icp = await make_icp(runtime, owner.workspace_id)
    run, _ = await start_run(runtime, owner.workspace_id, icp.id, source="apollo")
    for _ in range(4):
        await drain(runtime)
        await make_due(runtime)
    failed = await reload_run(runtime, run.id)
    assert failed.state == SearchRunState.failed
    assert failed.error is not None and "apollo (503)" in failed.error
    assert "retrying" not in failed.error
    job = await _job(runtime, run.job_id)
    assert (job["status"], job["attempts"]) == ("failed", 4)
    # Asking again the same day queues the failed run once more.
    again, existing = await start_run(runtime, owner.workspace_id, icp.id, source="apollo")
    assert again.id == run.id and not existing and again.job_id != run.job_id
    assert again.state == SearchRunState.queued and again.error is None


async def test_an_apollo_outage_opens_its_breaker_and_the_run_waits_without_calling(
    runtime, owner: Account, apollo
) -> None:
    runtime.settings = runtime.settings.model_copy(
        update={"breaker_failures": 2, "breaker_cool_down_seconds": 90}
    )
    down = httpx.Response(503, json={"error": "unavailable"})
    fake = apollo(FakeApollo({(1, n): down for n in range(1, 10)}))
    icp = await make_icp(runtime, owner.workspace_id)
    run, _ = await start_run(runtime, owner.workspace_id, icp.id, source="apollo")
    for _ in range(3):
        await drain(runtime)
        await make_due(runtime)
    assert fake.calls == [1, 1]  # the third attempt met the open breaker: no request
    waiting = await reload_run(runtime, run.id)
    assert waiting.state == SearchRunState.running
    assert waiting.error is not None and "calls pause" in waiting.error
    async with runtime.db.session() as session:
        state = await session.scalar(
            text("SELECT state FROM breakers WHERE provider = 'apollo' AND account = :a"),
            {"a": str(owner.workspace_id)},
        )
    assert state == "open"

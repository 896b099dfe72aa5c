"""Settings → Jobs: dead jobs with their error, replayed from the page."""

from __future__ import annotations

import httpx

from tests.support import dead_jobs
from tests.support.accounts import Account, browser_login, csrf_of
from tests.support.dead_jobs import ERROR, TASK, make_dead_jobs
from tests.support.jobs import drain


async def test_dead_jobs_show_their_error_and_replay_from_the_page(
    anon_client: httpx.AsyncClient, owner: Account, runtime
) -> None:
    first, second, third = await make_dead_jobs(runtime, owner.workspace_id, count=3)
    await browser_login(anon_client, owner)
    page = await anon_client.get("/settings/jobs", params={"status": "failed"})
    assert page.status_code == 200
    assert f"ProviderRefused: {ERROR}" in page.text
    assert f'action="/settings/jobs/{first}/replay"' in page.text
    assert "3 failed" in page.text and 'href="/settings/jobs"' in page.text
    token = csrf_of(page.text)

    dead_jobs.cause["broken"] = False
    one = await anon_client.post(f"/settings/jobs/{first}/replay", data={"csrf_token": token})
    assert one.status_code == 303
    after = await anon_client.get(one.headers["location"])
    assert f"Job {first} is queued again." in after.text
    twice = await anon_client.post(f"/settings/jobs/{first}/replay", data={"csrf_token": token})
    assert twice.status_code == 409 and "Only a failed job can be replayed" in twice.text
    forged = await anon_client.post(f"/settings/jobs/{second}/replay", data={})
    assert forged.status_code == 403

    every = await anon_client.post(
        "/settings/jobs/replay", data={"task": TASK, "csrf_token": token}
    )
    assert every.status_code == 303
    listing = await anon_client.get(every.headers["location"])
    assert f"2 failed job(s) of {TASK} are queued again." in listing.text
    assert "No dead jobs" in listing.text
    await drain(runtime)
    done = await anon_client.get("/settings/jobs", params={"status": "completed", "task": TASK})
    for job_id in (first, second, third):
        assert f"#{job_id}</code>" in done.text


async def test_viewers_see_jobs_without_replay_buttons(
    anon_client: httpx.AsyncClient, owner: Account, make_user, runtime
) -> None:
    [job_id] = await make_dead_jobs(runtime, owner.workspace_id)
    viewer = await make_user(role="viewer", workspace=owner.workspace_id)
    await browser_login(anon_client, viewer)
    page = await anon_client.get("/settings/jobs?scope=instance")
    assert f"#{job_id}</code>" in page.text  # a viewer's page stays on the workspace's jobs
    assert "/replay" not in page.text and 'id="fj-scope"' not in page.text
    refused = await anon_client.post(
        f"/settings/jobs/{job_id}/replay", data={"csrf_token": csrf_of(page.text)}
    )
    assert refused.status_code == 403

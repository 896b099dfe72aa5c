"""`leadflood jobs list|show|replay`: dead jobs from the shell, audited as the command line."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.support import dead_jobs
from tests.support.accounts import Account
from tests.support.dead_jobs import ERROR, TASK, make_dead_jobs
from tests.support.processes import run_cli


async def test_dead_jobs_are_listed_and_replayed_from_the_shell(
    tmp_path: Path, database_url: str, client: httpx.AsyncClient, owner: Account, runtime
) -> None:
    first, second, third = await make_dead_jobs(runtime, owner.workspace_id, count=3)
    [instance] = await make_dead_jobs(runtime, None)

    listed = run_cli(tmp_path, database_url, "jobs", "list", "--failed", "-w", "Acme", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [row["id"] for row in rows] == [instance, third, second, first]
    assert {row["error"] for row in rows if row["scope"] == "workspace"} == {
        f"ProviderRefused: {ERROR}"
    }
    table = run_cli(tmp_path, database_url, "jobs", "list", "--status", "failed", "-w", "Acme",
                    "--scope", "workspace", COLUMNS="200")  # fmt: skip
    assert table.returncode == 0 and "ProviderRefused" in table.stdout
    assert str(instance) not in table.stdout.split()
    everything = run_cli(tmp_path, database_url, "jobs", "list", "--json", "--task", TASK)
    assert len(json.loads(everything.stdout)) == 4
    bad = run_cli(tmp_path, database_url, "jobs", "list", "--status", "dead")
    assert bad.returncode == 2 and "invalid_job_filter" in bad.stderr

    dead_jobs.cause["broken"] = False
    one = run_cli(tmp_path, database_url, "jobs", "replay", str(first), "-w", "Acme")
    assert one.returncode == 0, one.stderr
    assert f"Job {first} ({TASK}) is queued again" in one.stdout
    twice = run_cli(tmp_path, database_url, "jobs", "replay", str(first))
    assert twice.returncode == 1 and "job_not_failed" in twice.stderr
    shown = json.loads(run_cli(tmp_path, database_url, "jobs", "show", str(first)).stdout)
    assert shown["status"] == "queued" and "retried" in [e["type"] for e in shown["events"]]

    declined = run_cli(tmp_path, database_url, "jobs", "replay", "--task", TASK, "--failed",
                       stdin="n\n")  # fmt: skip
    assert declined.returncode == 1
    assert f"Replay 3 failed job(s) of {TASK}?" in declined.stdout
    assert (await client.get(f"/v1/jobs/{second}")).json()["status"] == "failed"
    accepted = run_cli(tmp_path, database_url, "jobs", "replay", "--task", TASK, "--failed",
                       stdin="y\n")  # fmt: skip
    assert accepted.returncode == 0, accepted.stderr
    assert f"Replayed 3 job(s) of {TASK}." in accepted.stdout
    for job_id in (second, third, instance):
        assert (await client.get(f"/v1/jobs/{job_id}")).json()["status"] == "queued"
    none_left = run_cli(tmp_path, database_url, "jobs", "replay", "--task", TASK, "--failed",
                        "--yes")  # fmt: skip
    assert none_left.returncode == 0 and f"No failed jobs of {TASK}." in none_left.stdout
    vague = run_cli(tmp_path, database_url, "jobs", "replay", "--task", TASK)
    assert vague.returncode == 2

    events = (await client.get("/v1/audit-events")).json()["items"]
    replays = [(e["action"], e["actor"]) for e in events if "replayed" in e["action"]]
    assert replays == [("jobs.replayed", "command line"), ("job.replayed", "command line")]

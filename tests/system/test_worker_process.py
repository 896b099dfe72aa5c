"""Real worker processes: killed mid-job, restarted, and checked by `leadflood doctor`."""

from __future__ import annotations

import signal
import subprocess
import sys

import psycopg
import pytest
from sqlalchemy import text

from leadflood.system import doctor
from tests.support.processes import leadflood_env, run_cli, start, stop, wait_for

pytestmark = pytest.mark.slow


async def _job_status(runtime, job_id: int) -> str | None:
    async with runtime.db.sessions() as session:
        return await session.scalar(
            text("SELECT status::text FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}
        )


async def test_a_worker_killed_mid_job_loses_nothing(client, runtime, database_url, tmp_path):
    env = leadflood_env(database_url, tmp_path / "data")
    log = tmp_path / "worker.log"
    sandbox = await client.put("/v1/settings/enrichment", json={"waterfall": ["sandbox"]})
    assert sandbox.status_code == 200, sandbox.text
    created = (await client.post("/v1/leads", json={"email": "ida@slow.example"})).json()

    first = start(["worker", "--concurrency", "1"], env, log)
    try:

        async def running() -> bool:
            return await _job_status(runtime, created["job_id"]) == "doing"

        await wait_for(running, timeout=30, what="the job to start")
        first.send_signal(signal.SIGKILL)
        first.wait(5)
    finally:
        stop(first)
    lead = (await client.get(f"/v1/leads/{created['lead_id']}")).json()
    assert lead["status"] == "new"  # the killed attempt committed nothing

    second = start(["worker", "--concurrency", "1"], env, log)
    try:

        async def enriched() -> bool:
            response = await client.get(f"/v1/leads/{created['lead_id']}")
            return response.json()["status"] == "enriched"

        await wait_for(enriched, timeout=60, what="the rescued job to finish", interval=0.5)
    finally:
        stop(second)
    job = (await client.get(f"/v1/jobs/{created['job_id']}")).json()
    assert job["status"] == "completed"
    assert job["attempts"] == 2
    async with runtime.db.sessions() as session:
        jobs = await session.scalar(
            text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'leads.enrich'")
        )
    assert jobs == 1


async def test_doctor_passes_with_a_worker_and_names_the_cause_without(
    runtime, database_url, tmp_path
):
    env = leadflood_env(database_url, tmp_path / "data")
    without = {check.name: check for check in await doctor.run(runtime)}
    assert not without["worker heartbeat"].ok
    assert all(check.ok for name, check in without.items() if name != "worker heartbeat")

    result = subprocess.run(
        [sys.executable, "-m", "leadflood", "doctor"],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "worker heartbeat" in result.stderr + result.stdout

    worker = start(["worker"], env, tmp_path / "worker.log")
    try:

        async def healthy() -> bool:
            return all(check.ok for check in await doctor.run(runtime))

        await wait_for(healthy, timeout=30, what="a healthy doctor report")
        result = subprocess.run(
            [sys.executable, "-m", "leadflood", "doctor"],
            env={**env, "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        stop(worker)


def _one_line_reason(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("Worker stopped: "), output
    return lines[-1]


def test_a_worker_on_a_wrong_database_exits_2_with_the_reason(database_url, tmp_path):
    wrong = database_url.replace("/test_", "/no_such_database_", 1)
    result = run_cli(tmp_path, wrong, "worker")
    assert result.returncode == 2, result.stderr
    assert "does not exist" in _one_line_reason(result.stderr)


def test_a_worker_on_a_database_without_the_schema_says_to_upgrade(pg_server, tmp_path):
    url = pg_server.replace("/postgres?", "/leadflood_empty?")
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "leadflood_empty"')
        conn.execute('CREATE DATABASE "leadflood_empty"')
    try:
        result = run_cli(tmp_path, url, "worker")
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute('DROP DATABASE IF EXISTS "leadflood_empty" WITH (FORCE)')
    assert result.returncode == 2, result.stderr
    assert "leadflood db upgrade" in _one_line_reason(result.stderr)


def test_a_worker_gives_up_on_an_unreachable_database_with_status_1(tmp_path):
    nowhere = f"postgresql://postgres@/leadflood?host={tmp_path}"
    result = run_cli(tmp_path, nowhere, "worker", WORKER_DATABASE_WAIT_SECONDS="2")
    assert result.returncode == 1, result.stderr
    reason = _one_line_reason(result.stderr)
    assert "unreachable" in reason and "WORKER_DATABASE_WAIT_SECONDS=2" in reason
    assert "worker.waiting_for_database" in result.stderr  # logged while it waited

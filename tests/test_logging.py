"""Every log line carries the process's service and env; a request's lines its request_id and
who made it; a job's lines its job_id and attempt."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator

import pytest

from leadflood.logging import configure_logging


def _lines(err: str) -> list[dict]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


class _Stream(io.StringIO):
    def readouterr(self) -> str:
        text = self.getvalue()
        self.seek(0)
        self.truncate()
        return text


@pytest.fixture
def logs(monkeypatch) -> Iterator[_Stream]:
    """JSON logs into a stream of the test's own (the logger writes to the sys.stderr of the
    moment it is configured)."""
    stream = _Stream()
    monkeypatch.setattr(sys, "stderr", stream)
    configure_logging("info", "json", service="leadflood-web", env="test")
    yield stream
    monkeypatch.undo()
    configure_logging("warning", "console", service="leadflood", env="test")


async def test_request_lines_carry_service_env_request_and_user(
    logs, anon_client, owner, login
) -> None:
    tokens = await login(owner)
    logs.readouterr()
    response = await anon_client.get(
        "/v1/leads",
        headers={"authorization": f"Bearer {tokens['access_token']}", "x-request-id": "req-42"},
    )
    assert response.status_code == 200
    (access,) = [line for line in _lines(logs.readouterr()) if line["event"] == "http.request"]
    assert access["service"] == "leadflood-web" and access["env"] == "test"
    assert access["request_id"] == "req-42"
    assert access["user_id"] == str(owner.user_id)
    assert access["workspace_id"] == str(owner.workspace_id)


async def test_a_request_by_api_key_names_the_key_and_no_user(logs, client) -> None:
    logs.readouterr()
    await client.get("/v1/leads")
    (access,) = [line for line in _lines(logs.readouterr()) if line["event"] == "http.request"]
    assert access["api_key_id"] and access["user_id"] is None


async def test_job_lines_carry_job_id_and_attempt(logs, runtime) -> None:
    """A real worker runs a job that fails: its lines name the job, the run and the task."""
    from tests.support.dead_jobs import TASK, make_dead_jobs

    logs.readouterr()
    (job_id,) = await make_dead_jobs(runtime, None)
    failed = [line for line in _lines(logs.readouterr()) if line["event"] == "job.failed"]
    assert failed and all(line["job_id"] == job_id for line in failed)
    assert [line["attempt"] for line in failed] == [1]
    assert failed[0]["task"] == TASK and failed[0]["service"] == "leadflood-web"

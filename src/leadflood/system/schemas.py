from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from leadflood.schemas import Strict


class BreakerRead(BaseModel):
    """A provider account's circuit breaker: `open` calls fail fast until `opened_until`;
    `half_open` one probe call is out."""

    model_config = {"from_attributes": True}

    provider: str
    account: str
    state: Literal["closed", "open", "half_open"]
    failures: int
    opened_until: datetime | None
    last_error: str | None
    last_failure_at: datetime | None


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class WorkerState(BaseModel):
    last_heartbeat: datetime | None
    alive: bool


class Ready(BaseModel):
    status: Literal["ready", "degraded"]
    db: Literal["ok", "fail"]
    worker: WorkerState


class JobRead(BaseModel):
    id: int
    task: str
    status: Literal["queued", "running", "completed", "failed", "cancelled"]
    # Runs so far (the first one included).
    attempts: int
    # The last run's error, for jobs of a workspace (the instance's jobs log theirs only).
    error: str | None
    # "workspace": deferred for a row of this workspace; "instance": the queue's own jobs.
    scope: Literal["workspace", "instance"]
    subject_type: str | None
    subject_id: str | None
    queue: str
    args: dict[str, Any]
    created_at: datetime | None
    scheduled_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None


class JobEvent(BaseModel):
    type: str
    at: datetime | None


class JobDetail(JobRead):
    """A job with the queue's events: deferred, started, deferred_for_retry, failed, retried..."""

    events: list[JobEvent]


class ReplayRequest(Strict):
    task: str = Field(min_length=1, max_length=128, examples=["leads.enrich"])
    status: Literal["failed"] = Field(
        description="Only failed jobs (retries exhausted) are replayed."
    )


class ReplaySkipped(BaseModel):
    id: int
    reason: str


class ReplayResult(BaseModel):
    task: str
    replayed: list[int]
    skipped: list[ReplaySkipped]
    # True when the batch was full: replay again for the rest.
    remaining: bool

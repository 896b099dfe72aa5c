from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel


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
    status: Literal["queued", "running", "completed", "failed"]
    attempts: int
    error: str | None
    subject_type: str
    subject_id: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

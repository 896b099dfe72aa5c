from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from leadflood.icps.schemas import Source
from leadflood.models import SearchRunState
from leadflood.schemas import Strict


class SearchRequest(Strict):
    source: Source | None = Field(None, description="Defaults to the ICP's source.")
    max_results: int = Field(500, ge=1, le=50_000)


class SearchStarted(BaseModel):
    run_id: uuid.UUID
    job_id: int | None
    state: SearchRunState
    existing: bool = Field(description="True when this answers a run already asked for today.")


class SearchRunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    icp_id: uuid.UUID
    source: str
    params: dict[str, Any]
    run_day: date
    state: SearchRunState
    found: int
    created: int
    updated: int
    duplicates: int
    rejected: int
    pages_done: int
    pages_expected: int | None
    total_expected: int | None
    progress: float = Field(description="0..1")
    job_id: int | None
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime

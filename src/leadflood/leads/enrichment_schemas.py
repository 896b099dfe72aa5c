"""Contracts of enrichment, verification, bulk operations and the lead page."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from leadflood.leads.schemas import LeadRead
from leadflood.models import BulkAction, BulkState, LeadStatus, VerificationStatus
from leadflood.schemas import Strict

LeadSort = Literal["newest", "oldest", "score", "score_asc"]


class LeadFilter(Strict):
    status: LeadStatus | None = None
    verification: VerificationStatus | None = None
    score_min: int | None = Field(None, ge=0, le=100)
    score_max: int | None = Field(None, ge=0, le=100)
    icp_id: uuid.UUID | None = None
    company_domain: str | None = Field(None, max_length=253)
    q: str | None = Field(None, max_length=200)

    def is_empty(self) -> bool:
        return not self.model_dump(exclude_none=True)


class BulkRequest(Strict):
    """Exactly one of: the ids picked, every lead matching a filter, or a search run's leads."""

    lead_ids: list[uuid.UUID] | None = Field(None, min_length=1, max_length=10_000)
    filter: LeadFilter | None = None
    search_run_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _one_selection(self) -> BulkRequest:
        given = [x for x in (self.lead_ids, self.filter, self.search_run_id) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of lead_ids, filter or search_run_id")
        return self


class BulkRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    action: BulkAction
    state: BulkState
    selection: dict[str, Any]
    total: int
    done: int
    failed: int
    job_id: int | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None


class BulkStarted(BaseModel):
    operation_id: uuid.UUID
    job_id: int


class JobStarted(BaseModel):
    lead_id: uuid.UUID
    job_id: int


class EnrichmentSettingsRead(BaseModel):
    waterfall: list[str]
    wanted_fields: list[str]
    monthly_budget: Decimal | None
    verifier: str
    available_enrichers: list[str]
    available_verifiers: list[str]
    enrichable_fields: list[str]
    configured_providers: dict[str, bool] = Field(
        description="Which providers can run for this workspace: with a key stored under "
        "Settings → Credentials, a process-wide key, or none needed (sandbox)."
    )


class EnrichmentSettingsUpdate(Strict):
    waterfall: list[str] | None = Field(None, min_length=1, max_length=10)
    wanted_fields: list[str] | None = Field(None, min_length=1, max_length=20)
    monthly_budget: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=4)
    verifier: str | None = Field(None, max_length=40)


class CreditUsage(BaseModel):
    month_start: datetime
    used: Decimal
    budget: Decimal | None
    remaining: Decimal | None


class FieldSource(BaseModel):
    field: str
    provider: str
    at: datetime


class TimelineEvent(BaseModel):
    at: datetime
    kind: str  # created | imported | enriched | enrichment_failed | verified | scored | job_failed
    title: str
    detail: str | None = None
    provider: str | None = None


class ScoreItem(BaseModel):
    label: str
    points: float


class LeadDetail(BaseModel):
    lead: LeadRead
    sources: list[FieldSource]
    verification_evidence: dict[str, Any]
    score_breakdown: list[ScoreItem]
    timeline: list[TimelineEvent]

"""Contracts of enrichment, verification, bulk operations and the lead page."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from leadflood.schemas import Strict


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
    waterfall: list[str] | None = Field(None, max_length=10)
    wanted_fields: list[str] | None = Field(None, min_length=1, max_length=20)
    monthly_budget: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=4)
    verifier: str | None = Field(None, max_length=40)


class CreditUsage(BaseModel):
    month_start: datetime
    used: Decimal
    budget: Decimal | None
    remaining: Decimal | None

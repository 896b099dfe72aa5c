from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from leadflood.models import SuppressionKind
from leadflood.schemas import Read, Strict


class SuppressionCreate(Strict):
    kind: SuppressionKind
    value: str = Field(min_length=1, max_length=320)
    reason: Literal["unsubscribed", "bounced", "complained", "do_not_contact", "manual"] = "manual"
    note: str = Field("", max_length=1000)
    scope: Literal["workspace", "global"] = "workspace"


class SuppressionRead(Read):
    id: uuid.UUID
    kind: SuppressionKind
    value: str
    reason: str
    source: str | None
    note: str
    scope: Literal["workspace", "global"]
    created_at: datetime


class SuppressionImportRead(BaseModel):
    added: int
    existing: int
    rejected: list[dict[str, str]]


class ErasureRead(BaseModel):
    """What an erasure did; none of the erased values."""

    lead_id: uuid.UUID
    identities_hashed: list[str] = Field(
        description="The kinds of identity kept as one-way digests in the suppression list."
    )
    enrollments_stopped: int
    messages_cancelled: int
    scrubbed: dict[str, int] = Field(
        description="Rows whose personal data was removed, per place that held it."
    )


class BulkDeleteStarted(BaseModel):
    operation_id: uuid.UUID
    job_id: int
    count: int = Field(description="How many leads the selection held when it started.")

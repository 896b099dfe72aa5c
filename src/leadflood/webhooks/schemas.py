"""The contracts of outbound webhooks: endpoints (subscriptions) and their deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from leadflood.schemas import Read, Strict


class EndpointCreate(Strict):
    """`url` receives a signed POST (Standard Webhooks) for each event of `events`."""

    url: str = Field(max_length=2000)
    events: list[str] = Field(min_length=1, max_length=20)
    description: str | None = Field(None, max_length=300)


class EndpointUpdate(Strict):
    """What is given is set, what is left out stays. `enabled: true` re-enables an endpoint
    disabled after failures; `rotate_secret` issues a new secret (shown once in the answer)."""

    url: str | None = Field(None, max_length=2000)
    events: list[str] | None = Field(None, min_length=1, max_length=20)
    description: str | None = Field(None, max_length=300)
    enabled: bool | None = None
    rotate_secret: bool = False


class EndpointRead(Read):
    id: uuid.UUID
    url: str
    description: str | None
    events: list[str]
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    failing_since: datetime | None
    last_success_at: datetime | None
    created_at: datetime


class EndpointWithSecret(EndpointRead):
    """Only in the answer that creates the endpoint or rotates its secret: store `secret`
    (`whsec_…`) now, it is never shown again."""

    secret: str


class AttemptRead(Read):
    attempted_at: datetime
    status_code: int | None
    response_excerpt: str | None
    duration_ms: int
    error: str | None


class DeliveryRead(Read):
    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID | None
    message_id: str
    event_type: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    attempt_log: list[AttemptRead] = []

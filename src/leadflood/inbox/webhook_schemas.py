"""The contracts of the provider webhook endpoints' settings."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from leadflood.schemas import Strict

Kind = Literal["postmark", "resend", "sendgrid-events", "sendgrid-parse"]
Auth = Literal["basic", "svix", "ecdsa"]


class EndpointUpdate(Strict):
    """What is given is set ("" removes it); what is left out stays. Postmark takes
    `username` and `password` (HTTP basic auth, set on its webhooks too); Resend its
    `signing_secret` (`whsec_…`); SendGrid's Event Webhook and Inbound Parse the
    verification `public_key` it shows (base64, or PEM)."""

    username: str | None = Field(None, max_length=200)
    password: str | None = Field(None, max_length=200)
    signing_secret: str | None = Field(None, max_length=200)
    public_key: str | None = Field(None, max_length=4000)
    # A new URL: the old one is refused from now on (after a leak).
    rotate_token: bool = False


class EndpointRead(BaseModel):
    kind: Kind
    provider: str
    description: str
    auth: Auth
    # None until the endpoint is created (PUT).
    url: str | None
    configured: bool
    username: str | None
    received_count: int
    refused_count: int
    last_received_at: datetime | None
    last_refused_at: datetime | None
    last_refused_code: str | None


class WebhookReceipt(BaseModel):
    stored: int
    duplicates: int
    processed: int

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import phonenumbers
from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, HttpUrl

from leadflood.models import LeadStatus, VerificationStatus
from leadflood.schemas import Strict, iana_zone


def _e164(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("must be an international phone number such as +14155550123") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _zone(value: str | None) -> str | None:
    return None if value is None or value == "" else iana_zone(value)


Phone = Annotated[str | None, AfterValidator(_e164)]
TimeZone = Annotated[str | None, AfterValidator(_zone)]


class LeadCreate(Strict):
    email: EmailStr
    first_name: str | None = Field(None, max_length=120)
    last_name: str | None = Field(None, max_length=120)
    title: str | None = Field(None, max_length=200)
    phone: Phone = None
    linkedin_url: HttpUrl | None = None
    company_name: str | None = Field(None, max_length=200)
    company_domain: str | None = Field(None, max_length=253)
    timezone: TimeZone = None
    custom_fields: dict[str, str | int | float | bool | None] = Field(default_factory=dict)


class LeadCreated(BaseModel):
    lead_id: uuid.UUID
    job_id: int


class LeadRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str | None
    first_name: str | None
    last_name: str | None
    title: str | None
    seniority: str | None
    department: str | None
    phone: str | None
    linkedin_url: str | None
    company_name: str | None
    company_domain: str | None
    company_industry: str | None
    company_size: int | None
    city: str | None
    country: str | None
    timezone: str | None
    source: str
    provider_person_id: str | None = Field(
        None,
        description="The person's id at the provider named by `source` (set by its searches); "
        "read-only: it deduplicates that provider's results and lets it match the person.",
    )
    status: LeadStatus
    error: str | None
    enriched_at: datetime | None
    custom_fields: dict[str, Any]
    icp_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    score: int | None = None
    score_breakdown: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Why the score: one item per criterion, its label and points.",
    )
    scored_at: datetime | None = None
    verification_status: VerificationStatus = VerificationStatus.unverified
    verified_at: datetime | None = None
    created_at: datetime
    updated_at: datetime

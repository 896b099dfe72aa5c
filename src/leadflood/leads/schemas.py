from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import phonenumbers
from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    model_validator,
)

from leadflood.leads import identities
from leadflood.leads.countries import country_code
from leadflood.models import BulkAction, BulkState, LeadStatus, VerificationStatus
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


def _linkedin(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    url = identities.linkedin_url(value)
    if url is None or len(url) > 300:
        raise ValueError("must be a LinkedIn profile URL such as https://www.linkedin.com/in/jane")
    return url


def _domain(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    domain = identities.company_domain(value)
    if domain is None:
        raise ValueError("must be a domain such as acme.com")
    return domain


def _country(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    return country_code(value) or value  # an ISO code when the name is known, as imports keep


Phone = Annotated[str | None, AfterValidator(_e164)]
TimeZone = Annotated[str | None, AfterValidator(_zone)]
LinkedInUrl = Annotated[str | None, AfterValidator(_linkedin)]
Domain = Annotated[str | None, Field(max_length=253), AfterValidator(_domain)]
Country = Annotated[str | None, Field(max_length=80), AfterValidator(_country)]
CustomValue = str | int | float | bool | None


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
    custom_fields: dict[str, CustomValue] = Field(default_factory=dict)


class LeadUpdate(Strict):
    """The fields to change, with the checks of creation; a field left out keeps its value,
    null clears it. `custom_fields` is merged key by key (a null value removes that key)."""

    email: EmailStr | None = None
    first_name: str | None = Field(None, max_length=120)
    last_name: str | None = Field(None, max_length=120)
    title: str | None = Field(None, max_length=200)
    seniority: str | None = Field(None, max_length=40)
    department: str | None = Field(None, max_length=80)
    phone: Phone = None
    linkedin_url: LinkedInUrl = None
    company_name: str | None = Field(None, max_length=200)
    company_domain: Domain = None
    company_industry: str | None = Field(None, max_length=120)
    company_size: int | None = Field(None, ge=0, le=10_000_000)
    city: str | None = Field(None, max_length=120)
    country: Country = None
    timezone: TimeZone = None
    custom_fields: dict[Annotated[str, Field(min_length=1, max_length=64)], CustomValue] | None = (
        None
    )
    owner_id: uuid.UUID | None = Field(
        None,
        description="A user of this workspace (422 `owner_not_member` otherwise); null clears.",
    )

    def changes(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


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
    score_icp_id: uuid.UUID | None = Field(
        None, description="The ICP the score was computed against: icp_id, else the best fit."
    )
    score_breakdown: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Why the score: one item per criterion, its label, points and fit (0-1).",
    )
    scored_at: datetime | None = None
    verification_status: VerificationStatus = VerificationStatus.unverified
    verified_at: datetime | None = None
    tags: list[str] = Field(default_factory=list)
    owner_id: uuid.UUID | None = None
    created_at: datetime
    updated_at: datetime


LeadSort = Literal["newest", "oldest", "score", "score_asc"]


def normal_tag(value: str) -> str:
    """Lower-cased, spaces collapsed (ValueError when nothing is left)."""
    tag = " ".join(value.split()).lower()
    if not tag:
        raise ValueError("a tag cannot be empty")
    return tag


Tag = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(normal_tag)]


def _listed(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class LeadFilter(Strict):
    """The one lead selection: the leads list, its bulk actions, export and enrollment all read
    it, and `leads.queries.filter_condition` is its one SQL condition. Every field narrows."""

    status: LeadStatus | None = None
    verification: Annotated[list[VerificationStatus] | None, BeforeValidator(_listed)] = Field(
        None, description="One status or several (any of them)."
    )
    score_min: int | None = Field(
        None, ge=0, le=100, validation_alias=AliasChoices("score_min", "min_score")
    )
    score_max: int | None = Field(
        None, ge=0, le=100, validation_alias=AliasChoices("score_max", "max_score")
    )
    icp_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    company_domain: str | None = Field(None, max_length=253)
    q: str | None = Field(
        None,
        max_length=200,
        description="Search: every word starts a word of the name, company or title, or the "
        "email's domain; a single word may also start the email. Case-insensitive.",
    )
    list_id: uuid.UUID | None = Field(None, description="Only the members of this list.")
    tag: Tag | None = Field(None, description="Only leads with this tag.")
    owner_id: uuid.UUID | None = Field(None, description="Only leads owned by this user.")
    has_notes: bool | None = Field(None, description="Only leads with (true) or without notes.")

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


class FieldSource(BaseModel):
    field: str
    provider: str
    at: datetime
    # True when the value came from the sandbox's synthetic universe, not from a real source.
    sandbox: bool = False


class TimelineEvent(BaseModel):
    at: datetime
    # created | imported | enriched | enrichment_failed | verified | scored | job_failed | inbox
    kind: str
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


class ListCreate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=120)]
    description: str = Field("", max_length=2000)


class ListUpdate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    description: str | None = Field(None, max_length=2000)


class ListRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str
    created_at: datetime
    updated_at: datetime


class ListWithCount(ListRead):
    members: int


class Selection(Strict):
    """Exactly one of: the ids picked, or every lead matching a filter (checked where it is
    used, after the list it names is found: 422 `invalid_selection`)."""

    lead_ids: list[uuid.UUID] | None = Field(None, min_length=1, max_length=10_000)
    filter: LeadFilter | None = None


class TagRequest(Selection):
    tags: list[Tag] = Field(min_length=1, max_length=20)


class Changed(BaseModel):
    changed: int = Field(description="How many leads (or memberships) this changed.")


class Queued(BaseModel):
    """A filter selecting more than 10,000 leads is organized in the background (202)."""

    operation: BulkRead = Field(
        description="The bulk operation doing it: follow it at GET /v1/leads/bulk/{id}."
    )


class NoteCreate(Strict):
    text: Annotated[str, Field(min_length=1, max_length=10_000)]


class NoteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    lead_id: uuid.UUID
    author_id: uuid.UUID | None
    author: str
    text: str = Field(validation_alias="body")
    created_at: datetime


class OutreachMessage(BaseModel):
    """A message to or from a lead, as its page lists it."""

    id: uuid.UUID
    direction: str
    channel: str
    status: str
    subject: str
    to_address: str
    error: str | None = Field(None, description="Why it failed, or why it is unconfirmed.")
    sequence_id: uuid.UUID | None
    sequence_name: str | None
    step: int | None = Field(None, description="The step's position in its sequence.")
    thread_id: uuid.UUID | None
    send_after: datetime
    sent_at: datetime | None
    created_at: datetime

"""One Protocol per provider capability, and the errors every adapter maps its failures to.

Adapters never import a domain package: they take plain values and return plain dataclasses.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


class ProviderError(Exception):
    """A provider call failed. `temporary` says whether retrying later may succeed."""

    temporary: bool = False

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.code = code
        self.retry_after = retry_after


class TemporaryProviderError(ProviderError):
    """429, 5xx, timeouts, SMTP 4xx: retry with backoff, never drop."""

    temporary = True


class PermanentProviderError(ProviderError):
    """Validation errors, invalid recipients, SMTP 5xx: do not retry."""


class RecipientRejected(PermanentProviderError):
    """The recipient itself is bad (hard bounce, inactive, unsubscribed at the provider):
    the address must be suppressed."""


class ProviderNotConfiguredError(PermanentProviderError):
    """A key or setting the adapter needs is missing."""


# ---- prospects -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeadQuery:
    """A provider-neutral people search built from an ICP's criteria."""

    titles: tuple[str, ...] = ()
    seniorities: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    employee_ranges: tuple[str, ...] = ()  # "51-200"
    countries: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    technologies: tuple[str, ...] = ()
    exclude_domains: tuple[str, ...] = ()


@dataclass(slots=True)
class Prospect:
    """A person as a provider describes them; every field but the source id may be missing."""

    source_id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    title: str | None = None
    seniority: str | None = None
    department: str | None = None
    phone: str | None = None
    linkedin_url: str | None = None
    city: str | None = None
    country: str | None = None
    timezone: str | None = None
    company_name: str | None = None
    company_domain: str | None = None
    company_industry: str | None = None
    company_size: int | None = None
    company_country: str | None = None
    technologies: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class SearchPage:
    prospects: list[Prospect]
    page: int
    total: int | None
    has_more: bool


class LeadSource(Protocol):
    name: str

    async def search(self, query: LeadQuery, *, page: int, per_page: int) -> SearchPage: ...


@dataclass(slots=True)
class EnrichmentInput:
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    company_domain: str | None = None
    linkedin_url: str | None = None
    # The person's id at a provider, by provider name (a search result's `source_id`): the
    # provider that issued it can match on it exactly.
    person_ids: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class EnrichmentResult:
    """`fields` holds only what the provider found (lead columns by name); `cost` in credits."""

    provider: str
    found: bool
    fields: dict[str, Any] = field(default_factory=dict)
    cost: float = 0.0
    raw: dict[str, Any] = field(default_factory=dict)


class Enricher(Protocol):
    name: str

    async def enrich(self, person: EnrichmentInput) -> EnrichmentResult: ...


@dataclass(slots=True)
class VerificationResult:
    provider: str
    status: str  # valid | risky | invalid | unknown
    evidence: dict[str, Any] = field(default_factory=dict)
    cost: float = 0.0


class EmailVerifier(Protocol):
    name: str

    async def verify(self, email: str) -> VerificationResult: ...


# ---- sending ---------------------------------------------------------------------------------


# The metadata key under which an email carries our message's id to the providers that keep
# metadata (Postmark's Metadata, SendGrid's custom_args, Resend's tags): their webhooks and
# searches give it back.
MESSAGE_METADATA_KEY = "message"


@dataclass(slots=True)
class OutboundEmail:
    """A rendered email. `message_id` is ours (set before the attempt); `idempotency_key` is sent
    to providers that accept one so that a retried request is not delivered twice."""

    message_id: str
    from_email: str
    from_name: str | None
    to: list[str]
    subject: str
    text: str
    html: str | None = None
    reply_to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    idempotency_key: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class SendResult:
    provider: str
    provider_message_id: str | None
    code: str | None = None
    text: str | None = None


class EmailSender(Protocol):
    name: str

    async def send(self, email: OutboundEmail) -> SendResult: ...


@runtime_checkable
class SentLookup(Protocol):
    """A sender whose provider can be asked, after the fact, whether it took a message: by
    the metadata the message was sent with (Postmark's outbound message search)."""

    async def find_sent(self, key: str, value: str) -> str | None:
        """The provider's id of the message sent with metadata {key: value}; None when it has
        none. Raises ProviderError when it cannot tell."""
        ...


@runtime_checkable
class RenderingEmailSender(EmailSender, Protocol):
    """A sender whose wire bytes can be built ahead of the send (SMTP: the MIME message,
    DKIM-signed when configured), so that building them need not delay the sends before."""

    def render(self, email: OutboundEmail) -> bytes: ...

    async def send_rendered(
        self, email: OutboundEmail, data: bytes, *, ready: Awaitable[bool] | None = None
    ) -> SendResult | None:
        """Send `data`, which `render(email)` built. `ready`, when given, is awaited once the
        envelope is accepted and before anything can be delivered: False abandons the
        transaction and returns None (nothing was sent)."""
        ...

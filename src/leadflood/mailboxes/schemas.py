from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, EmailStr, Field, model_validator

from leadflood.models import MailboxState
from leadflood.schemas import Read, Strict, TimeZone
from leadflood.system.schemas import BreakerRead

Provider = Literal["smtp", "resend", "postmark", "sendgrid"]


def _window(value: dict[str, Any]) -> dict[str, Any]:
    if not value:
        return {}
    days = value.get("days")
    if (
        not isinstance(days, list)
        or not days
        or not all(isinstance(d, int) and 0 <= d <= 6 for d in days)
    ):
        raise ValueError("days must be a non-empty list of 0 (Monday) to 6 (Sunday)")
    if not value.get("start") or not value.get("end"):
        raise ValueError("give both a start and an end time, or neither for no mailbox window")
    try:
        start, end = time.fromisoformat(value["start"]), time.fromisoformat(value["end"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError("start and end must be times such as '09:00'") from exc
    if end <= start:
        raise ValueError("the window must end after it starts")
    return {"days": sorted(set(days)), "start": value["start"], "end": value["end"]}


Window = Annotated[dict[str, Any], AfterValidator(_window)]


def _folders(value: list[str]) -> list[str]:
    cleaned = [f.strip() for f in value if f and f.strip()]
    if not cleaned:
        raise ValueError("watch at least one folder (INBOX)")
    if any(len(f) > 300 for f in cleaned):
        raise ValueError("a folder name has at most 300 characters")
    return list(dict.fromkeys("INBOX" if f.upper() == "INBOX" else f for f in cleaned))


class ImapIn(Strict):
    """Where this mailbox's replies are read. The login is checked for real when saved."""

    host: str = Field(min_length=1, max_length=253, description="The IMAP server.")
    port: int | None = Field(
        None, ge=1, le=65_535, description="Default: 993 with TLS, 143 otherwise."
    )
    tls_mode: Literal["tls", "ssl", "starttls", "none"] = Field(
        "tls", description="tls (also written ssl; port 993), starttls (143), none (local only)."
    )
    same_as_smtp: bool = Field(
        False, description="Log in with the SMTP username and password of this mailbox."
    )
    username: str | None = Field(None, max_length=320)
    password: str | None = Field(
        None, max_length=1000, description="Never returned; omit it to keep the saved one."
    )
    folders: Annotated[list[str], AfterValidator(_folders)] = Field(
        default_factory=lambda: ["INBOX"], max_length=20, description="Folders to watch."
    )
    spam: bool = Field(
        False, description="Watch the spam folder too (the server's \\Junk folder, or one "
        "named Junk or Spam); it is added to `folders` when saved.",
    )  # fmt: skip
    poll_seconds: int | None = Field(
        None, ge=15, le=86_400, description="Default: IMAP_POLL_SECONDS (60)."
    )

    @model_validator(mode="after")
    def _login(self) -> ImapIn:
        if self.tls_mode == "ssl":
            self.tls_mode = "tls"
        if self.same_as_smtp and (self.username or self.password):
            raise ValueError("give a username and password, or same_as_smtp, not both")
        if not self.same_as_smtp and not self.username:
            raise ValueError("an IMAP login needs a username (or same_as_smtp)")
        return self


class MailboxFields(Strict):
    name: str | None = Field(None, min_length=1, max_length=120)
    from_name: str | None = Field(None, max_length=120)
    from_email: EmailStr | None = None
    reply_to: EmailStr | None = None
    signature: str | None = Field(None, max_length=5000)
    daily_cap: int | None = Field(None, ge=0, le=100_000)
    min_gap_seconds: int | None = Field(None, ge=0, le=86_400)
    jitter_seconds: int | None = Field(None, ge=0, le=86_400)
    window: Window | None = None
    timezone: TimeZone | None = None
    warmup_enabled: bool | None = None
    warmup_start: int | None = Field(None, ge=0, le=100_000)
    warmup_increment: int | None = Field(None, ge=0, le=100_000)
    warmup_started_on: date | None = None
    # SMTP
    host: str | None = Field(None, max_length=253)
    port: int | None = Field(None, ge=1, le=65_535)
    tls_mode: Literal["none", "starttls", "tls"] | None = None
    username: str | None = Field(None, max_length=320)
    password: str | None = Field(None, max_length=1000)
    dkim_selector: str | None = Field(None, max_length=63, pattern=r"^[A-Za-z0-9._-]*$")
    dkim_domain: str | None = Field(None, max_length=253)
    dkim_private_key: str | None = Field(None, max_length=10_000)
    # HTTP providers
    # Sent in an HTTP header: visible ASCII only (a pasted key with other characters is a
    # copy error, refused here rather than failing when the client is built).
    api_key: str | None = Field(None, max_length=1000, pattern=r"^[\x21-\x7e]*$")
    message_stream: str | None = Field(None, max_length=80)
    base_url: str | None = Field(None, max_length=300, pattern=r"^https?://")
    postal_address: str | None = Field(None, max_length=1000)
    # Replies
    imap: ImapIn | None = Field(
        None, description="Read replies over IMAP; null (on update) stops reading them."
    )


class MailboxCreate(MailboxFields):
    name: str = Field(min_length=1, max_length=120)
    provider: Provider
    from_email: EmailStr

    @model_validator(mode="after")
    def _required_by_provider(self) -> MailboxCreate:
        if self.provider == "smtp" and not self.host:
            raise ValueError("an SMTP mailbox needs a host")
        if self.provider != "smtp" and not self.api_key:
            raise ValueError(f"a {self.provider} mailbox needs an api_key")
        return self


class MailboxUpdate(MailboxFields):
    pass


class MailboxHealth(BaseModel):
    sent_today: int
    remaining_today: int
    cap_today: int
    bounce_rate_7d: float | None
    bounce_rate_last_100: float | None
    last_error: str | None
    state: MailboxState
    # The sending provider's circuit breaker for this mailbox; None until it saw a failure.
    breaker: BreakerRead | None = None


class FolderSync(Read):
    folder: str
    uidvalidity: int | None
    last_uid: int
    last_sync_at: datetime | None
    last_good_sync_at: datetime | None
    last_error: str | None
    last_error_code: str | None
    failures: int
    stored_total: int
    last_resync_at: datetime | None
    last_recovery_at: datetime | None
    recovery_found: int


class ImapRead(BaseModel):
    host: str
    port: int
    tls_mode: str
    same_as_smtp: bool
    username: str | None
    has_password: bool
    folders: list[str]
    poll_seconds: int
    sync: list[FolderSync] = Field(description="Where each watched folder's sync stands.")
    state: Literal["pending", "ok", "failing"] = Field(
        description="pending (not synced yet), ok, or failing (see the folders' last_error)."
    )
    last_good_sync_at: datetime | None = Field(
        description="The oldest of the folders' last good syncs."
    )


class SyncStarted(BaseModel):
    job_id: int


class MailboxRead(Read):
    id: uuid.UUID
    name: str
    channel: str = Field(
        description="What this sender account sends: email (SMS, LinkedIn and "
        "voice accounts share this resource as they arrive)."
    )
    provider: str
    from_name: str | None
    from_email: str
    reply_to: str | None
    signature: str
    daily_cap: int
    min_gap_seconds: int
    jitter_seconds: int
    window: dict[str, Any]
    timezone: str
    warmup_enabled: bool
    warmup_start: int
    warmup_increment: int
    warmup_started_on: date | None
    state: MailboxState
    last_error: str | None
    last_sent_at: datetime | None
    dkim_selector: str | None
    dkim_domain: str | None
    dns_checks: dict[str, Any]
    settings: dict[str, Any] = Field(description="Non-secret provider settings (host, port...).")
    has_secret: bool
    has_dkim_key: bool
    health: MailboxHealth | None = None
    imap: ImapRead | None = Field(None, description="Reading replies; null when not set up.")
    created_at: datetime


class DnsCheckRead(BaseModel):
    domain: str
    spf: dict[str, Any]
    dmarc: dict[str, Any]
    dkim: dict[str, Any]
    checked_at: datetime

"""All configuration, read once from the environment (and `.env`). See `.env.example`."""

from __future__ import annotations

import ipaddress
import secrets
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from leadflood.errors import ConfigError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

Environment = Literal["development", "test", "production"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, case_sensitive=False
    )

    environment: Environment = Field(
        "development", validation_alias=AliasChoices("LEADFLOOD_ENV", "environment")
    )
    data_dir: Path = Field(
        Path(platformdirs.user_data_dir("leadflood")),
        validation_alias=AliasChoices("LEADFLOOD_DATA_DIR", "data_dir"),
    )
    database_url: str | None = Field(
        None, validation_alias=AliasChoices("DATABASE_URL", "database_url")
    )
    secret_key: str = Field("", validation_alias=AliasChoices("SECRET_KEY", "secret_key"))
    public_url: str = Field(
        "http://127.0.0.1:8000", validation_alias=AliasChoices("PUBLIC_URL", "public_url")
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", validation_alias=AliasChoices("LOG_LEVEL", "log_level")
    )
    log_format: Literal["json", "console"] = Field(
        "json", validation_alias=AliasChoices("LOG_FORMAT", "log_format")
    )
    test_mode: bool = Field(False, validation_alias=AliasChoices("TEST_MODE", "test_mode"))
    test_recipients: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=AliasChoices("TEST_RECIPIENTS", "test_recipients")
    )
    enricher: str = Field("sandbox", validation_alias=AliasChoices("ENRICHER", "enricher"))
    apollo_api_key: str | None = Field(
        None, validation_alias=AliasChoices("APOLLO_API_KEY", "apollo_api_key")
    )
    hunter_api_key: str | None = Field(
        None, validation_alias=AliasChoices("HUNTER_API_KEY", "hunter_api_key")
    )
    verify_mx_timeout: float = Field(
        3.0, gt=0, le=30, validation_alias=AliasChoices("VERIFY_MX_TIMEOUT_SECONDS")
    )
    sandbox_search_delay: float = Field(
        0.0,
        ge=0,
        le=10,
        validation_alias=AliasChoices("SANDBOX_SEARCH_DELAY", "sandbox_search_delay"),
    )
    # How long after a send the sandbox's simulated recipients answer (the demo's replies,
    # out-of-office notices and bounces).
    sandbox_answer_delay_seconds: float = Field(
        20.0, ge=0, le=86_400, validation_alias=AliasChoices("SANDBOX_ANSWER_DELAY_SECONDS")
    )
    worker_heartbeat_seconds: float = Field(
        10.0, gt=0, validation_alias=AliasChoices("WORKER_HEARTBEAT_SECONDS")
    )
    stalled_job_seconds: float = Field(
        60.0, gt=0, validation_alias=AliasChoices("STALLED_JOB_SECONDS")
    )
    # Unset: three heartbeats. See `worker_stale_after`.
    worker_stale_seconds: float | None = Field(
        None, gt=0, validation_alias=AliasChoices("WORKER_STALE_SECONDS")
    )
    worker_database_wait_seconds: float = Field(
        300.0, gt=0, validation_alias=AliasChoices("WORKER_DATABASE_WAIT_SECONDS")
    )
    db_pool_size: int = Field(10, ge=1, validation_alias=AliasChoices("DB_POOL_SIZE"))
    # Finished jobs that succeeded are deleted after this many days (failed ones are kept).
    job_retention_days: int = Field(7, ge=1, validation_alias=AliasChoices("JOB_RETENTION_DAYS"))

    # Delivery: see the "Sending" part of .env.example.
    sending_batch_size: int = Field(
        50, ge=1, le=500, validation_alias=AliasChoices("SENDING_BATCH_SIZE")
    )
    sending_connections: int = Field(
        2, ge=1, le=10, validation_alias=AliasChoices("SENDING_CONNECTIONS")
    )
    # Circuit breakers (system/breakers.py): this many temporary failures in a row open a
    # provider account's breaker for the cool-down; then one probe call decides.
    breaker_failures: int = Field(5, ge=1, validation_alias=AliasChoices("BREAKER_FAILURES"))
    breaker_cool_down_seconds: float = Field(
        60.0, gt=0, validation_alias=AliasChoices("BREAKER_COOL_DOWN_SECONDS")
    )
    sending_reconcile_seconds: float = Field(
        300.0, ge=5, validation_alias=AliasChoices("SENDING_RECONCILE_SECONDS")
    )
    sending_retry_base_seconds: float = Field(
        60.0, gt=0, validation_alias=AliasChoices("SENDING_RETRY_BASE_SECONDS")
    )
    sending_retry_max_seconds: float = Field(
        3600.0, gt=0, validation_alias=AliasChoices("SENDING_RETRY_MAX_SECONDS")
    )
    scheduler_batch_size: int = Field(
        500, ge=1, le=5000, validation_alias=AliasChoices("SCHEDULER_BATCH_SIZE")
    )
    allow_global_suppressions: bool = Field(
        False, validation_alias=AliasChoices("ALLOW_GLOBAL_SUPPRESSIONS")
    )
    # Replies read over IMAP: see the "Inbox" part of .env.example.
    imap_poll_seconds: int = Field(
        60, ge=15, le=86_400, validation_alias=AliasChoices("IMAP_POLL_SECONDS")
    )
    imap_timeout_seconds: float = Field(
        30.0, gt=0, le=300, validation_alias=AliasChoices("IMAP_TIMEOUT_SECONDS")
    )
    imap_window_days: int = Field(7, ge=1, le=90, validation_alias=AliasChoices("IMAP_WINDOW_DAYS"))
    imap_idle: bool = Field(True, validation_alias=AliasChoices("IMAP_IDLE"))
    # CSV imports: see the "CSV import" part of .env.example.
    import_max_bytes: int = Field(
        209_715_200, ge=1024, validation_alias=AliasChoices("IMPORT_MAX_BYTES")
    )
    import_workers: int = Field(0, ge=0, le=64, validation_alias=AliasChoices("IMPORT_WORKERS"))
    import_chunk_rows: int = Field(
        10_000, ge=1, le=100_000, validation_alias=AliasChoices("IMPORT_CHUNK_ROWS")
    )

    # Accounts and security: see the "Sign-in and security" part of .env.example.
    encryption_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=AliasChoices("ENCRYPTION_KEYS", "encryption_keys")
    )
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or networks, comma
    # separated). None by default: a client cannot pose as another address with a header.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=AliasChoices("TRUSTED_PROXIES", "trusted_proxies")
    )
    # Networks outbound webhooks may reach although they are not public (a receiver on this
    # host or the private network: `127.0.0.1/32,10.0.0.0/8`). None by default.
    webhook_allowed_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=AliasChoices("WEBHOOK_ALLOWED_NETWORKS")
    )
    # When set, /metrics answers only `Authorization: Bearer <token>`.
    metrics_token: str | None = Field(None, validation_alias=AliasChoices("METRICS_TOKEN"))
    # Observability (see docs/ops/): errors to Sentry, traces over OTLP/HTTP; off when unset.
    sentry_dsn: str | None = Field(None, validation_alias=AliasChoices("SENTRY_DSN"))
    otel_endpoint: str | None = Field(
        None, validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT")
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=AliasChoices("CORS_ORIGINS", "cors_origins")
    )
    access_token_minutes: int = Field(
        15, ge=1, le=60, validation_alias=AliasChoices("ACCESS_TOKEN_MINUTES")
    )
    refresh_token_days: int = Field(30, ge=1, validation_alias=AliasChoices("REFRESH_TOKEN_DAYS"))
    session_days: int = Field(14, ge=1, validation_alias=AliasChoices("SESSION_DAYS"))
    invitation_days: int = Field(7, ge=1, validation_alias=AliasChoices("INVITATION_DAYS"))
    cookie_secure: bool | None = Field(None, validation_alias=AliasChoices("COOKIE_SECURE"))
    max_request_bytes: int = Field(
        1_048_576, ge=1024, validation_alias=AliasChoices("MAX_REQUEST_BYTES")
    )
    max_upload_bytes: int = Field(
        52_428_800, ge=1024, validation_alias=AliasChoices("MAX_UPLOAD_BYTES")
    )
    login_attempts_per_ip: int = Field(
        30, ge=1, validation_alias=AliasChoices("LOGIN_ATTEMPTS_PER_IP")
    )
    login_attempts_per_account: int = Field(
        10, ge=1, validation_alias=AliasChoices("LOGIN_ATTEMPTS_PER_ACCOUNT")
    )
    login_window_seconds: int = Field(
        900, ge=1, validation_alias=AliasChoices("LOGIN_WINDOW_SECONDS")
    )
    # The instance's own mailbox for account mail (password resets, email verification,
    # invitations): smtp://user:pass@host:587 (STARTTLS), smtps://user:pass@host:465 (TLS from
    # the start) or smtp+plain://host:25 (no TLS, a relay on a trusted network only).
    system_smtp_url: str | None = Field(
        None, validation_alias=AliasChoices("SYSTEM_SMTP_URL", "system_smtp_url")
    )
    system_mail_from: str | None = Field(
        None, validation_alias=AliasChoices("SYSTEM_MAIL_FROM", "system_mail_from")
    )
    password_reset_minutes: int = Field(
        60, ge=5, le=1440, validation_alias=AliasChoices("PASSWORD_RESET_MINUTES")
    )
    api_key_requests_per_minute: int = Field(
        600, ge=1, validation_alias=AliasChoices("API_KEY_REQUESTS_PER_MINUTE")
    )

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in {"postgresql", "postgres", "postgresql+psycopg"}:
            raise ValueError(
                "must be a PostgreSQL URL such as postgresql://user:pass@localhost:5432/leadflood"
            )
        if not parts.path.strip("/"):
            raise ValueError("must name a database, e.g. postgresql://localhost/leadflood")
        return value.strip()

    @field_validator("system_smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in {"smtp", "smtps", "smtp+plain"} or not parts.hostname:
            raise ValueError(
                "must be smtp://user:pass@host:587 (STARTTLS), smtps://user:pass@host:465 "
                "(TLS) or smtp+plain://host:25 (no TLS)"
            )
        return value.strip()

    @field_validator(
        "test_recipients",
        "encryption_keys",
        "cors_origins",
        "trusted_proxies",
        "webhook_allowed_networks",
        mode="before",
    )
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("encryption_keys")
    @classmethod
    def _fernet_keys(cls, value: list[str]) -> list[str]:
        from cryptography.fernet import Fernet

        for key in value:
            try:
                Fernet(key)
            except ValueError:
                raise ValueError(
                    "each key must be 32 url-safe base64-encoded bytes; make one with "
                    "`python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())'`"
                ) from None
        return value

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(
                    f"{network!r} is not an address or network (e.g. 127.0.0.1/32, 10.0.0.0/8)"
                ) from None
        return value

    @property
    def webhook_networks(self) -> tuple[IPNetwork, ...]:
        """WEBHOOK_ALLOWED_NETWORKS, parsed."""
        return tuple(ipaddress.ip_network(n, strict=False) for n in self.webhook_allowed_networks)

    @model_validator(mode="after")
    def _secret_outside_development(self) -> Settings:
        if self.environment == "production" and len(self.secret_key) < 32:
            raise ValueError("SECRET_KEY must be at least 32 characters outside development")
        return self

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @property
    def worker_stale_after(self) -> timedelta:
        """How old the freshest worker heartbeat may be before readiness and `leadflood doctor`
        say no worker is running."""
        seconds = self.worker_stale_seconds or 3 * self.worker_heartbeat_seconds
        return timedelta(seconds=seconds)

    @property
    def forwarded_allow_ips(self) -> str:
        """Forwarded headers are read only from TRUSTED_PROXIES (uvicorn would otherwise trust
        127.0.0.1, letting a local client forge its address); "" reads them from nobody."""
        return ",".join(self.trusted_proxies)

    @property
    def private_links_problem(self) -> str | None:
        """Why unsubscribe links in real mail would not open for their recipients: PUBLIC_URL
        names this machine or a private network. None when it does not, and under TEST_MODE or
        LEADFLOOD_ENV=test (automated tests), whose mail goes to test servers only."""
        if self.test_mode or self.environment == "test":
            return None
        reason = private_host_reason(self.public_url)
        if reason is None:
            return None
        return (
            f"its unsubscribe links would point at {self.public_url} ({reason}): "
            "set PUBLIC_URL to the https:// address where this instance is reachable from the "
            "internet (e.g. PUBLIC_URL=https://outreach.example.com), then restart"
        )

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.public_url.startswith("https://")


def _one_line(error: ValidationError) -> str:
    first = error.errors()[0]
    loc = first["loc"][0] if first["loc"] else "SECRET_KEY"
    names = {
        "environment": "LEADFLOOD_ENV",
        "data_dir": "LEADFLOOD_DATA_DIR",
        "LEADFLOOD_ENV": "LEADFLOOD_ENV",
    }
    name = names.get(str(loc), str(loc).upper())
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{name}: {message}"


def load_settings(**overrides: object) -> Settings:
    """Build settings; any invalid value raises ConfigError with one line naming the variable."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None
    if not settings.secret_key:
        settings.secret_key = _development_secret(settings)
    return settings


def _development_secret(settings: Settings) -> str:
    """Outside production a random key is kept in the data directory, so sessions survive
    restarts without any set-up."""
    path = settings.data_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


PLAIN_HTTP = "it is plain HTTP"


def unreachable_reason(url: str) -> str | None:
    """Why recipients of real mail could not use links to `url` (None: they can)."""
    if urlsplit(url).scheme != "https":
        return PLAIN_HTTP
    return private_host_reason(url)


def private_host_reason(url: str) -> str | None:
    """Why the host of `url` cannot be reached from the internet (None: it may be)."""
    host = (urlsplit(url).hostname or "").lower()
    if host in ("localhost", "") or host.endswith((".localhost", ".local", ".internal")):
        return "it names this machine or a private network"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if address.is_loopback or address.is_private or address.is_link_local:
        return "it is a loopback or private address"
    return None

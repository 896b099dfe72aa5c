"""All configuration, read once from the environment (and `.env`). See `.env.example`."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from leadflood.errors import ConfigError

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
    test_recipients: list[str] = Field(
        default_factory=list, validation_alias=AliasChoices("TEST_RECIPIENTS", "test_recipients")
    )
    enricher: str = Field("sandbox", validation_alias=AliasChoices("ENRICHER", "enricher"))
    apollo_api_key: str | None = Field(
        None, validation_alias=AliasChoices("APOLLO_API_KEY", "apollo_api_key")
    )
    hunter_api_key: str | None = Field(
        None, validation_alias=AliasChoices("HUNTER_API_KEY", "hunter_api_key")
    )
    worker_heartbeat_seconds: float = Field(
        10.0, gt=0, validation_alias=AliasChoices("WORKER_HEARTBEAT_SECONDS")
    )
    stalled_job_seconds: float = Field(
        60.0, gt=0, validation_alias=AliasChoices("STALLED_JOB_SECONDS")
    )
    db_pool_size: int = Field(10, ge=1, validation_alias=AliasChoices("DB_POOL_SIZE"))

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

    @field_validator("test_recipients", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @model_validator(mode="after")
    def _secret_outside_development(self) -> Settings:
        if self.environment == "production" and len(self.secret_key) < 32:
            raise ValueError("SECRET_KEY must be at least 32 characters outside development")
        return self

    @property
    def embedded(self) -> bool:
        return self.database_url is None


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

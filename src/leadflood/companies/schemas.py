from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field, field_validator

from leadflood.schemas import Read, Strict

_DOMAIN_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-.")


class CompanyUpdate(Strict):
    """The fields to change; a field left out keeps its value, null clears it (not the
    domain, which a company always has)."""

    domain: str | None = Field(None, min_length=3, max_length=253)
    name: str | None = Field(None, max_length=200)
    employee_count: int | None = Field(None, ge=1, le=10_000_000)
    industry: str | None = Field(None, max_length=120)

    @field_validator("domain")
    @classmethod
    def _bare_domain(cls, value: str | None) -> str | None:
        if value is None:
            return None
        host = value.strip().lower().split("://")[-1].split("/")[0].removeprefix("www.")
        if "." not in host or not set(host) <= _DOMAIN_CHARS or host.startswith(("-", ".")):
            raise ValueError("Give a domain such as acme.com.")
        return host


class CompanyRead(Read):
    id: uuid.UUID
    domain: str
    name: str | None
    industry: str | None
    employee_count: int | None
    country: str | None
    source: str
    created_at: datetime
    updated_at: datetime
    lead_count: int = 0


class CompanyPerson(Read):
    id: uuid.UUID
    email: str | None
    first_name: str | None
    last_name: str | None
    title: str | None
    score: int | None
    status: str
    # Sequence name -> the enrollment's state, for every sequence the person is in.
    enrollments: dict[str, str] = Field(default_factory=dict)


class CompanyDetail(CompanyRead):
    people: list[CompanyPerson] = Field(default_factory=list)

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from leadflood.icps import criteria as vocab
from leadflood.schemas import Strict

SOURCES = ("sandbox", "apollo")
MAX_VALUES = 50
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


Value = Annotated[str, Field(min_length=1, max_length=120)]


def _unique(values: list[str]) -> list[str]:
    """Drop blanks and case-insensitive repeats, keeping the first spelling and the order."""
    seen: set[str] = set()
    kept = []
    for value in values:
        value = value.strip()
        if value and vocab.fold(value) not in seen:
            seen.add(vocab.fold(value))
            kept.append(value)
    return kept


class IcpCriteria(Strict):
    """Within a list the values are alternatives; across lists all must match."""

    titles: list[Value] = Field(default_factory=list, max_length=MAX_VALUES)
    seniorities: list[Value] = Field(default_factory=list, max_length=MAX_VALUES)
    departments: list[Value] = Field(default_factory=list, max_length=MAX_VALUES)
    industries: list[Value] = Field(default_factory=list, max_length=MAX_VALUES)
    employee_ranges: list[Value] = Field(default_factory=list, max_length=MAX_VALUES)
    countries: list[Value] = Field(default_factory=list, max_length=MAX_VALUES)
    keywords: list[Value] = Field(default_factory=list, max_length=MAX_VALUES)
    technologies: list[Value] = Field(default_factory=list, max_length=MAX_VALUES)
    exclude_domains: list[Value] = Field(default_factory=list, max_length=500)
    exclude_existing_customers: bool = False
    customer_domains: list[Value] = Field(default_factory=list, max_length=5000)

    @field_validator(*vocab.LISTS, mode="after")
    @classmethod
    def _dedupe(cls, values: list[str]) -> list[str]:
        return _unique(values)

    @field_validator("seniorities", mode="after")
    @classmethod
    def _seniorities(cls, values: list[str]) -> list[str]:
        known = []
        for value in values:
            found = vocab.seniority(value)
            if found is None:
                raise ValueError(
                    f"{value!r} is not a seniority; use one of {', '.join(vocab.SENIORITIES)}"
                )
            known.append(found)
        return list(dict.fromkeys(known))

    @field_validator("employee_ranges", mode="after")
    @classmethod
    def _ranges(cls, values: list[str]) -> list[str]:
        ranges = []
        for value in values:
            bounds = vocab.employee_range(value)
            if bounds is None:
                raise ValueError(f"{value!r} is not a range like '51-200' or '5001+'")
            ranges.append(vocab.range_label(bounds))
        return list(dict.fromkeys(ranges))

    @field_validator("exclude_domains", "customer_domains", mode="after")
    @classmethod
    def _domains(cls, values: list[str]) -> list[str]:
        domains = []
        for value in values:
            host = vocab.domain(value)
            if not _DOMAIN.match(host):
                raise ValueError(f"{value!r} is not a domain like 'acme.com'")
            domains.append(host)
        return list(dict.fromkeys(domains))

    @model_validator(mode="after")
    def _something_to_find(self) -> IcpCriteria:
        if not any(getattr(self, name) for name in vocab.SCORED):
            raise ValueError(
                "set at least one of titles, seniorities, departments, industries, "
                "employee ranges, countries, keywords or technologies"
            )
        return self


Weight = Annotated[int, Field(ge=0, le=100)]
Penalty = Annotated[int, Field(ge=-100, le=0)]


class IcpWeights(Strict):
    """Points per matched criterion (0..100) and per penalty (-100..0); see
    `icps.criteria.DEFAULT_WEIGHTS` for the defaults and `leads.scoring` for the rules."""

    titles: Weight = vocab.DEFAULT_WEIGHTS["titles"]
    seniorities: Weight = vocab.DEFAULT_WEIGHTS["seniorities"]
    departments: Weight = vocab.DEFAULT_WEIGHTS["departments"]
    industries: Weight = vocab.DEFAULT_WEIGHTS["industries"]
    employee_ranges: Weight = vocab.DEFAULT_WEIGHTS["employee_ranges"]
    countries: Weight = vocab.DEFAULT_WEIGHTS["countries"]
    keywords: Weight = vocab.DEFAULT_WEIGHTS["keywords"]
    technologies: Weight = vocab.DEFAULT_WEIGHTS["technologies"]
    email_risky: Penalty = vocab.DEFAULT_WEIGHTS["email_risky"]
    email_invalid: Penalty = vocab.DEFAULT_WEIGHTS["email_invalid"]
    excluded: Penalty = vocab.DEFAULT_WEIGHTS["excluded"]


Source = Annotated[str, Field(pattern="^(sandbox|apollo)$")]


class IcpCreate(Strict):
    name: str = Field(min_length=1, max_length=120)
    description: str | None = Field(None, max_length=2000)
    criteria: IcpCriteria
    weights: IcpWeights = Field(default_factory=IcpWeights)
    source: Source = "sandbox"


class IcpUpdate(Strict):
    """Only the fields sent change; `criteria` and `weights` are replaced whole."""

    name: str | None = Field(None, min_length=1, max_length=120)
    description: str | None = Field(None, max_length=2000)
    criteria: IcpCriteria | None = None
    weights: IcpWeights | None = None
    source: Source | None = None


class IcpRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str | None
    criteria: dict[str, Any]
    weights: dict[str, Any]
    source: str
    created_at: datetime
    updated_at: datetime

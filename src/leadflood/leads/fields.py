"""The lead columns an enricher may fill, and the rule for filling them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from leadflood.leads import identities as value_checks
from leadflood.leads.countries import country_code
from leadflood.models import Lead

# An enricher never overwrites what a user or an import already set. It may fill a missing
# email (a search found the person without one); `enrichment` checks no other lead has it.
ENRICHABLE = (
    "email",
    "first_name",
    "last_name",
    "title",
    "seniority",
    "department",
    "phone",
    "linkedin_url",
    "company_name",
    "company_domain",
    "company_industry",
    "company_size",
    "city",
    "country",
    "timezone",
)


# A person's own data: an erasure removes it, and the audit log records that it changed, never
# its values (the log is append-only, so it must never hold what an erasure has to remove).
PERSONAL = frozenset(
    ("email", "first_name", "last_name", "phone", "linkedin_url", "city", "provider_person_id")
)


def normalized(name: str, value: Any) -> Any:
    """A provider's value in the form leads keep; None when it is not usable."""
    if not isinstance(value, str):
        return value
    value = value.strip()
    if name == "country":
        return country_code(value) or value  # providers give names; we keep ISO codes
    if name == "email":
        return value if value and value_checks.email_problem(value) is None else None
    if name == "linkedin_url":
        # The canonical form, as CSV import stores it: leads without an email dedupe on it.
        return value_checks.linkedin_url(value) if value else None
    return value


def fillable(lead: Lead, fields: dict[str, Any]) -> dict[str, Any]:
    """The values of `fields` that would fill an empty column of `lead`."""
    found = {}
    for name in ENRICHABLE:
        value = normalized(name, fields.get(name))
        if value not in (None, "") and getattr(lead, name) in (None, ""):
            found[name] = value
    return found


def apply_fields(lead: Lead, fields: dict[str, Any]) -> list[str]:
    changes = fillable(lead, fields)
    for name, value in changes.items():
        setattr(lead, name, value)
    return list(changes)


def is_filled(lead: Lead, wanted: Sequence[str]) -> bool:
    return all(getattr(lead, name, None) not in (None, "") for name in wanted)

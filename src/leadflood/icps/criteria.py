"""The vocabulary of an ICP: criteria lists, scoring weights and their defaults, and the
normalisation both the search parameters and the scorer rely on. Pure functions only."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# Criteria a lead is matched (and scored) against, in the order the breakdown lists them.
SCORED = (
    "titles",
    "seniorities",
    "departments",
    "industries",
    "employee_ranges",
    "countries",
    "keywords",
    "technologies",
)
LISTS = (*SCORED, "exclude_domains", "customer_domains")

# Default weights. They are relative: the criteria an ICP sets share 100 points in proportion to
# their weights (see `shares`), so a lead matching all of them scores 100; with every criterion
# set, the shares are these numbers (they add up to 100). Criteria left empty earn nothing and
# cost nothing. Penalties are negative points taken off as they are: a risky or invalid email
# (from verification) and a company the ICP excludes (its domains, or the existing customers
# when `exclude_existing_customers` is set).
DEFAULT_WEIGHTS: dict[str, int] = {
    "titles": 30,
    "seniorities": 10,
    "departments": 5,
    "industries": 15,
    "employee_ranges": 20,
    "countries": 10,
    "keywords": 5,
    "technologies": 5,
    "email_risky": -10,
    "email_invalid": -40,
    "excluded": -100,
}
PENALTIES = ("email_risky", "email_invalid", "excluded")

SENIORITIES = (
    "owner",
    "founder",
    "c_suite",
    "partner",
    "vp",
    "head",
    "director",
    "manager",
    "senior",
    "entry",
    "intern",
)
SENIORITY_ALIASES = {
    "c_level": "c_suite",
    "cxo": "c_suite",
    "executive": "c_suite",
    "vice_president": "vp",
    "junior": "entry",
}
_RANGE = re.compile(r"^\s*(\d+)\s*(?:[-,\u2013]\s*(\d+)|(\+)|[-,])\s*$")
_WORD = re.compile(r"[a-z0-9]+")
_TITLE_ALIASES = (
    ("vice president", "vp"),
    ("chief executive officer", "ceo"),
    ("chief technology officer", "cto"),
    ("chief marketing officer", "cmo"),
    ("chief financial officer", "cfo"),
    ("chief operating officer", "coo"),
    ("chief revenue officer", "cro"),
    ("chief information officer", "cio"),
    ("senior", "sr"),
    ("manager", "mgr"),
)
_STOPWORDS = frozenset({"of", "and", "the", "for", "in"})


def fold(value: str) -> str:
    """Lower case without accents or surrounding space: the form every comparison uses."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).strip().lower()


def key(value: str) -> str:
    """`"C-Suite"` -> `"c_suite"`, `"Customer Success"` -> `"customer_success"`."""
    return re.sub(r"[^a-z0-9]+", "_", fold(value)).strip("_").removeprefix("master_")


def seniority(value: str) -> str | None:
    found = key(value)
    found = SENIORITY_ALIASES.get(found, found)
    return found if found in SENIORITIES else None


def employee_range(value: str) -> tuple[int, int | None] | None:
    """ "51-200" -> (51, 200); "5001+" -> (5001, None); anything else -> None."""
    match = _RANGE.match(value)
    if match is None:
        return None
    low, high, _plus = match.groups()
    if high is not None and int(high) < int(low):
        return None
    return int(low), int(high) if high is not None else None


def range_label(bounds: tuple[int, int | None]) -> str:
    low, high = bounds
    return f"{low}+" if high is None else f"{low}-{high}"


def in_range(size: int, bounds: tuple[int, int | None]) -> bool:
    low, high = bounds
    return size >= low and (high is None or size <= high)


def domain(value: str) -> str:
    """A bare lower-case host from a domain, URL or email address."""
    host = fold(value).split("://")[-1].split("/")[0].rpartition("@")[2]
    return host.removeprefix("www.").strip(".")


def domain_matches(candidate: str, listed: str) -> bool:
    return candidate == listed or candidate.endswith("." + listed)


def title_words(value: str) -> frozenset[str]:
    """Words of a job title with common abbreviations unified ("Vice President" == "VP")."""
    text = " " + " ".join(_WORD.findall(fold(value).replace("&", " "))) + " "
    for long, short in _TITLE_ALIASES:
        text = text.replace(f" {long} ", f" {short} ")
    return frozenset(w for w in text.split() if w not in _STOPWORDS)


def title_matches(wanted: str, title: str) -> bool:
    """`wanted` appears in `title`, or every word of it does ("VP Sales" matches
    "Vice President of Sales")."""
    words = title_words(wanted)
    return bool(words) and (fold(wanted) in fold(title) or words <= title_words(title))


def weights_with_defaults(weights: dict[str, Any] | None) -> dict[str, int]:
    merged = dict(DEFAULT_WEIGHTS)
    for name, value in (weights or {}).items():
        if name in merged and isinstance(value, int) and not isinstance(value, bool):
            merged[name] = value
    return merged


# Regions a user may type among countries; they stand for these countries in searches and
# scoring.
REGIONS: dict[str, tuple[str, ...]] = {
    "dach": ("Germany", "Austria", "Switzerland"),
    "nordics": ("Sweden", "Norway", "Denmark", "Finland", "Iceland"),
    "benelux": ("Belgium", "Netherlands", "Luxembourg"),
    "north america": ("United States", "Canada"),
    "uk&i": ("United Kingdom", "Ireland"),
    "anz": ("Australia", "New Zealand"),
    "iberia": ("Spain", "Portugal"),
}


def expand_regions(values: list[str] | tuple[str, ...]) -> list[str]:
    expanded: list[str] = []
    for value in values:
        expanded.extend(REGIONS.get(fold(value), (value,)))
    return expanded


def shares(weights: dict[str, int]) -> dict[str, int]:
    """100 points split in proportion to `weights`, as integers adding up to exactly 100
    (largest remainder; ties go to the criterion listed first)."""
    total = sum(weights.values())
    if total <= 0:
        return dict.fromkeys(weights, 0)
    exact = {name: 100 * value / total for name, value in weights.items()}
    split = {name: int(value) for name, value in exact.items()}
    left = 100 - sum(split.values())
    for name in sorted(weights, key=lambda name: split[name] - exact[name])[:left]:
        split[name] += 1
    return split


def points_per_criterion(criteria: dict[str, Any], weights: dict[str, Any]) -> dict[str, int]:
    """What a match on each criterion the ICP sets is worth, and each penalty."""
    merged = weights_with_defaults(weights)
    used = {name: max(0, merged[name]) for name in SCORED if criteria.get(name)}
    return shares(used) | {name: merged[name] for name in PENALTIES}

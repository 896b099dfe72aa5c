"""Deterministic pieces shared by the sandbox adapters: ASCII slugs, titles, phones, hashing."""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from random import Random

import phonenumbers

from leadflood.providers.sandbox import data

_SPECIAL = str.maketrans(
    {"ß": "ss", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ł": "l", "Ł": "L", "đ": "d"}
)
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_WORD = re.compile(r"[a-z0-9&]+")
_ALIASES = (
    ("vice president", "vp"),
    ("chief executive officer", "ceo"),
    ("chief technology officer", "cto"),
    ("chief marketing officer", "cmo"),
    ("chief financial officer", "cfo"),
    ("chief operating officer", "coo"),
    ("chief information officer", "cio"),
    ("cofounder", "co founder"),
)
_STOPWORDS = frozenset({"of", "and", "&", "the", "for"})


def ascii_fold(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


def slug(text: str, sep: str = "") -> str:
    """`"O'Brien"` -> `"obrien"`, `"van den Berg"` -> `"vandenberg"`, `"Jörg"` -> `"jorg"`."""
    words = _NON_ALNUM.split(ascii_fold(text).lower().replace("'", ""))
    return sep.join(w for w in words if w)


def title_words(text: str) -> frozenset[str]:
    """Words of a job title with common abbreviations unified ("Vice President" == "VP")."""
    lowered = " " + ascii_fold(text).lower().replace("-", " ").replace(",", " ") + " "
    for long, short in _ALIASES:
        lowered = lowered.replace(f" {long} ", f" {short} ")
    return frozenset(w for w in _WORD.findall(lowered) if w not in _STOPWORDS)


def stable_int(*parts: object) -> int:
    """A 64-bit integer from the parts, identical in every process (unlike `hash()`)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


# ---- titles ----------------------------------------------------------------------------------


def _titles_for(seniority: str, department: str) -> tuple[str, ...]:
    labels = data.DEPARTMENT_LABELS[department]
    ics = data.IC_TITLES[department]
    if seniority == "c_suite":
        return data.C_SUITE_TITLES[department]
    if seniority == "vp":
        pairs = (t for lab in labels for t in (f"VP {lab}", f"VP of {lab}"))
        return (*pairs, f"Vice President, {labels[0]}")
    if seniority == "head":
        return tuple(f"Head of {lab}" for lab in labels)
    if seniority == "director":
        return tuple(t for lab in labels for t in (f"Director of {lab}", f"{lab} Director"))
    if seniority == "manager":
        return data.MANAGER_TITLES[department]
    if seniority == "senior":
        lead = tuple(f"Lead {t}" for t in ics[:2])
        staff = tuple(f"Staff {t}" for t in ics[:3]) if department == "engineering" else ()
        return tuple(f"Senior {t}" for t in ics) + lead + staff
    juniors = tuple(f"Junior {t}" for t in ics[:2]) if department in ("engineering", "data") else ()
    return ics + juniors


EXECUTIVE = "executive"
LEADER_TITLES: dict[str, tuple[str, ...]] = {
    "owner": ("Owner", "Owner & Managing Director", "Managing Director", "Founder & Owner"),
    "founder": ("Founder", "Co-Founder", "Founder & CEO", "Co-Founder & CEO"),
    "c_suite": ("CEO", "Chief Executive Officer", "President & CEO"),
}
ENGINEERING_FOUNDER = ("Co-Founder & CTO", "Technical Co-Founder")

TITLES: tuple[str, ...] = tuple(
    dict.fromkeys(
        [t for titles in LEADER_TITLES.values() for t in titles]
        + list(ENGINEERING_FOUNDER)
        + [
            t
            for s in ("c_suite", "vp", "head", "director", "manager", "senior", "entry")
            for d in data.DEPARTMENTS
            for t in _titles_for(s, d)
        ]
    )
)
TITLE_ID: dict[str, int] = {t: n for n, t in enumerate(TITLES)}
TITLE_CHOICES: dict[tuple[str, str], tuple[int, ...]] = {
    (s, d): tuple(TITLE_ID[t] for t in _titles_for(s, d))
    for s in ("c_suite", "vp", "head", "director", "manager", "senior", "entry")
    for d in data.DEPARTMENTS
}
LEADER_CHOICES: dict[str, tuple[int, ...]] = {
    s: tuple(TITLE_ID[t] for t in titles) for s, titles in LEADER_TITLES.items()
}
ENGINEERING_FOUNDER_CHOICES: tuple[int, ...] = tuple(TITLE_ID[t] for t in ENGINEERING_FOUNDER)
TITLE_WORDS: tuple[frozenset[str], ...] = tuple(title_words(t) for t in TITLES)


# ---- phones ----------------------------------------------------------------------------------


@functools.cache
def _phone_base(region: str) -> tuple[int, str]:
    number = phonenumbers.example_number_for_type(
        region, phonenumbers.PhoneNumberType.MOBILE
    ) or phonenumbers.example_number(region)
    if number is None or number.country_code is None:
        raise ValueError(f"phonenumbers has no example number for {region}")
    return number.country_code, phonenumbers.national_significant_number(number)


def phone_for(country: data.Country, city: int, rng: Random) -> str:
    """A valid E.164 number near the region's documented example number, checked with
    phonenumbers. NANP numbers keep the fictional 555-01xx block under the city's area code;
    elsewhere the example's last digits vary."""
    country_code, national = _phone_base(country.code)
    if country.area_codes:
        stem, vary = f"{country.area_codes[city]}55501", 2
    else:
        stem, vary = national[:-4], 4
    for _ in range(8):
        number = phonenumbers.parse(f"+{country_code}{stem}{rng.randrange(10**vary):0{vary}d}")
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"+{country_code}{national}"

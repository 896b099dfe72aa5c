"""Countries and time zones: ISO codes from the names people type, and a country's time zone
when it has only one. Names come from phonenumbers' metadata, zones from the tz database's
zone.tab."""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path

import phonenumbers
from phonenumbers import geocoder

_COUNTRY_ALIASES = {
    "US": "usa|us|u.s.|u.s.a.|united states of america|america|unitedstates",
    "GB": "uk|u.k.|gbr|great britain|britain|england|scotland|wales|northern ireland",
    "DE": "deu|deutschland|germany",
    "NL": "nld|holland|the netherlands",
    "CH": "che|schweiz|suisse|svizzera",
    "AT": "aut|osterreich",
    "AE": "are|uae|u.a.e.",
    "KR": "korea|republic of korea|korea, republic of",
    "RU": "russian federation",
    "CZ": "czechia",
    "VN": "viet nam",
    "CI": "ivory coast",
    "CD": "drc|dr congo",
    "MK": "north macedonia",
    "TR": "turkiye",
    "ES": "esp|espana",
    "BR": "bra|brasil",
    "IT": "ita|italia",
    "PL": "pol|polska",
    "SE": "swe|sverige",
    "NO": "nor|norge",
    "DK": "dnk|danmark",
    "FI": "fin|suomi",
    "FR": "fra",
    "BE": "bel|belgie|belgique",
    "IE": "irl|eire",
    "PT": "prt",
    "CA": "can",
    "AU": "aus",
    "NZ": "nzl",
    "MX": "mex",
    "IN": "ind",
    "JP": "jpn",
    "CN": "chn",
    "SG": "sgp",
    "IL": "isr",
    "ZA": "zaf",
}


def _country_key(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]", "", folded.casefold())


@cache
def _countries() -> dict[str, str]:
    names: dict[str, str] = {}
    for region in phonenumbers.SUPPORTED_REGIONS:
        names[_country_key(region)] = region
        example = phonenumbers.example_number(region)
        name = geocoder.country_name_for_number(example, "en") if example else ""
        if name:
            names.setdefault(_country_key(name), region)
    for region, aliases in _COUNTRY_ALIASES.items():
        for alias in aliases.split("|"):
            names[_country_key(alias)] = region
    return names


def country_code(text: str) -> str | None:
    """ISO 3166 alpha-2 code for "DE", "Germany", "Deutschland", "U.S.A."...; None if unknown."""
    return _countries().get(_country_key(text)) if text.strip() else None


@cache
def zone_names() -> dict[str, str]:
    return {name.casefold(): name for name in zoneinfo.available_timezones()}


def _zone_tab() -> str:
    for directory in zoneinfo.TZPATH:
        path = Path(directory) / "zone.tab"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    try:
        return resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return ""  # no tz database on this machine: zones are then never inferred


@cache
def _zones_by_country() -> dict[str, list[str]]:
    zones: dict[str, list[str]] = {}
    for line in _zone_tab().splitlines():
        if line and not line.startswith("#"):
            columns = line.split("\t")
            zones.setdefault(columns[0], []).append(columns[2])
    return zones


def _behaviour(zone: str) -> tuple[float | None, ...]:
    tz = zoneinfo.ZoneInfo(zone)
    year = datetime.now(UTC).year
    instants = (
        datetime(year, month, day, 12, tzinfo=UTC) for month in range(1, 13) for day in (1, 15)
    )
    return tuple(
        offset.total_seconds() if (offset := i.astimezone(tz).utcoffset()) else None
        for i in instants
    )


@cache
def zone_for_country(region: str) -> str | None:
    """The country's zone when all its zones keep the same clock all year (Germany's Büsingen
    runs like Berlin); None for countries that span several (US, Spain with the Canaries)."""
    zones = _zones_by_country().get(region.upper(), [])
    if not zones:
        return None
    try:
        behaviours = {_behaviour(zone) for zone in zones}
    except zoneinfo.ZoneInfoNotFoundError:
        return None
    return zones[0] if len(behaviours) == 1 else None

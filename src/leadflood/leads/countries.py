"""Countries and time zones: ISO codes from the names people type, and a country's time zone
when it has only one. Names come from the static table below, zones from the tz database's
zone.tab."""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from datetime import UTC, datetime
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

# ISO 3166 alpha-2 (every region phonenumbers knows) -> "English name|alias|alias...". The first
# name never displaces another country's code or name; an alias always wins. The English names
# are those of phonenumbers' geocoder, which costs ~100 MB per process to load: a table instead
# keeps every import worker small (tests/leads/test_countries.py checks it against the geocoder).
# The six regions the geocoder leaves unnamed are reached by their code only.
COUNTRY_NAMES = {
    "AC": "",
    "AD": "Andorra",
    "AE": "United Arab Emirates|are|uae|u.a.e.",
    "AF": "Afghanistan",
    "AG": "Antigua and Barbuda",
    "AI": "Anguilla",
    "AL": "Albania",
    "AM": "Armenia",
    "AO": "Angola",
    "AR": "Argentina",
    "AS": "American Samoa",
    "AT": "Austria|aut|osterreich",
    "AU": "Australia|aus",
    "AW": "Aruba",
    "AX": "Åland Islands",
    "AZ": "Azerbaijan",
    "BA": "Bosnia and Herzegovina",
    "BB": "Barbados",
    "BD": "Bangladesh",
    "BE": "Belgium|bel|belgie|belgique",
    "BF": "Burkina Faso",
    "BG": "Bulgaria",
    "BH": "Bahrain",
    "BI": "Burundi",
    "BJ": "Benin",
    "BL": "",
    "BM": "Bermuda",
    "BN": "Brunei",
    "BO": "Bolivia",
    "BQ": "Bonaire, Sint Eustatius and Saba",
    "BR": "Brazil|bra|brasil",
    "BS": "Bahamas",
    "BT": "Bhutan",
    "BW": "Botswana",
    "BY": "Belarus",
    "BZ": "Belize",
    "CA": "Canada|can",
    "CC": "Cocos Islands",
    "CD": "The Democratic Republic Of Congo|drc|dr congo",
    "CF": "Central African Republic",
    "CG": "Congo",
    "CH": "Switzerland|che|schweiz|suisse|svizzera",
    "CI": "Côte d'Ivoire|ivory coast",
    "CK": "Cook Islands",
    "CL": "Chile",
    "CM": "Cameroon",
    "CN": "China|chn",
    "CO": "Colombia",
    "CR": "Costa Rica",
    "CU": "Cuba",
    "CV": "Cape Verde",
    "CW": "Curaçao",
    "CX": "Christmas Island",
    "CY": "Cyprus",
    "CZ": "Czech Republic|czechia",
    "DE": "Germany|deu|deutschland|germany",
    "DJ": "Djibouti",
    "DK": "Denmark|dnk|danmark",
    "DM": "Dominica",
    "DO": "Dominican Republic",
    "DZ": "Algeria",
    "EC": "Ecuador",
    "EE": "Estonia",
    "EG": "Egypt",
    "EH": "",
    "ER": "Eritrea",
    "ES": "Spain|esp|espana",
    "ET": "Ethiopia",
    "FI": "Finland|fin|suomi",
    "FJ": "Fiji",
    "FK": "Falkland Islands",
    "FM": "Micronesia",
    "FO": "Faroe Islands",
    "FR": "France|fra",
    "GA": "Gabon",
    "GB": "United Kingdom|uk|u.k.|gbr|great britain|britain|england|scotland|wales"
    "|northern ireland",
    "GD": "Grenada",
    "GE": "Georgia",
    "GF": "French Guiana",
    "GG": "Guernsey",
    "GH": "Ghana",
    "GI": "Gibraltar",
    "GL": "Greenland",
    "GM": "Gambia",
    "GN": "Guinea",
    "GP": "Guadeloupe",
    "GQ": "Equatorial Guinea",
    "GR": "Greece",
    "GT": "Guatemala",
    "GU": "Guam",
    "GW": "Guinea-Bissau",
    "GY": "Guyana",
    "HK": "Hong Kong",
    "HN": "Honduras",
    "HR": "Croatia",
    "HT": "Haiti",
    "HU": "Hungary",
    "ID": "Indonesia",
    "IE": "Ireland|irl|eire",
    "IL": "Israel|isr",
    "IM": "Isle Of Man",
    "IN": "India|ind",
    "IO": "British Indian Ocean Territory",
    "IQ": "Iraq",
    "IR": "Iran",
    "IS": "Iceland",
    "IT": "Italy|ita|italia",
    "JE": "Jersey",
    "JM": "Jamaica",
    "JO": "Jordan",
    "JP": "Japan|jpn",
    "KE": "Kenya",
    "KG": "Kyrgyzstan",
    "KH": "Cambodia",
    "KI": "Kiribati",
    "KM": "Comoros",
    "KN": "Saint Kitts And Nevis",
    "KP": "North Korea",
    "KR": "South Korea|korea|republic of korea|korea, republic of",
    "KW": "Kuwait",
    "KY": "Cayman Islands",
    "KZ": "Kazakhstan",
    "LA": "Laos",
    "LB": "Lebanon",
    "LC": "Saint Lucia",
    "LI": "Liechtenstein",
    "LK": "Sri Lanka",
    "LR": "Liberia",
    "LS": "Lesotho",
    "LT": "Lithuania",
    "LU": "Luxembourg",
    "LV": "Latvia",
    "LY": "Libya",
    "MA": "Morocco",
    "MC": "Monaco",
    "MD": "Moldova",
    "ME": "Montenegro",
    "MF": "",
    "MG": "Madagascar",
    "MH": "Marshall Islands",
    "MK": "Macedonia|north macedonia",
    "ML": "Mali",
    "MM": "Myanmar",
    "MN": "Mongolia",
    "MO": "Macao",
    "MP": "Northern Mariana Islands",
    "MQ": "Martinique",
    "MR": "Mauritania",
    "MS": "Montserrat",
    "MT": "Malta",
    "MU": "Mauritius",
    "MV": "Maldives",
    "MW": "Malawi",
    "MX": "Mexico|mex",
    "MY": "Malaysia",
    "MZ": "Mozambique",
    "NA": "Namibia",
    "NC": "New Caledonia",
    "NE": "Niger",
    "NF": "Norfolk Island",
    "NG": "Nigeria",
    "NI": "Nicaragua",
    "NL": "Netherlands|nld|holland|the netherlands",
    "NO": "Norway|nor|norge",
    "NP": "Nepal",
    "NR": "Nauru",
    "NU": "Niue",
    "NZ": "New Zealand|nzl",
    "OM": "Oman",
    "PA": "Panama",
    "PE": "Peru",
    "PF": "French Polynesia",
    "PG": "Papua New Guinea",
    "PH": "Philippines",
    "PK": "Pakistan",
    "PL": "Poland|pol|polska",
    "PM": "Saint Pierre And Miquelon",
    "PR": "Puerto Rico",
    "PS": "Palestine",
    "PT": "Portugal|prt",
    "PW": "Palau",
    "PY": "Paraguay",
    "QA": "Qatar",
    "RE": "Reunion",
    "RO": "Romania",
    "RS": "Serbia",
    "RU": "Russia|russian federation",
    "RW": "Rwanda",
    "SA": "Saudi Arabia",
    "SB": "Solomon Islands",
    "SC": "Seychelles",
    "SD": "Sudan",
    "SE": "Sweden|swe|sverige",
    "SG": "Singapore|sgp",
    "SH": "Saint Helena",
    "SI": "Slovenia",
    "SJ": "Svalbard And Jan Mayen",
    "SK": "Slovakia",
    "SL": "Sierra Leone",
    "SM": "San Marino",
    "SN": "Senegal",
    "SO": "Somalia",
    "SR": "Suriname",
    "SS": "South Sudan",
    "ST": "Sao Tome And Principe",
    "SV": "El Salvador",
    "SX": "Sint Maarten (Dutch part)",
    "SY": "Syria",
    "SZ": "Swaziland",
    "TA": "",
    "TC": "Turks And Caicos Islands",
    "TD": "Chad",
    "TG": "Togo",
    "TH": "Thailand",
    "TJ": "Tajikistan",
    "TK": "Tokelau",
    "TL": "Timor-Leste",
    "TM": "Turkmenistan",
    "TN": "Tunisia",
    "TO": "Tonga",
    "TR": "Turkey|turkiye",
    "TT": "Trinidad and Tobago",
    "TV": "Tuvalu",
    "TW": "Taiwan",
    "TZ": "Tanzania",
    "UA": "Ukraine",
    "UG": "Uganda",
    "US": "United States|usa|us|u.s.|u.s.a.|united states of america|america|unitedstates",
    "UY": "Uruguay",
    "UZ": "Uzbekistan",
    "VA": "Vatican",
    "VC": "Saint Vincent And The Grenadines",
    "VE": "Venezuela",
    "VG": "British Virgin Islands",
    "VI": "U.S. Virgin Islands",
    "VN": "Vietnam|viet nam",
    "VU": "Vanuatu",
    "WF": "Wallis And Futuna",
    "WS": "Samoa",
    "XK": "",
    "YE": "Yemen",
    "YT": "Mayotte",
    "ZA": "South Africa|zaf",
    "ZM": "Zambia",
    "ZW": "Zimbabwe",
}


def _country_key(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]", "", folded.casefold())


@cache
def _countries() -> dict[str, str]:
    names = {_country_key(region): region for region in COUNTRY_NAMES}
    for region, entry in COUNTRY_NAMES.items():
        name, *aliases = entry.split("|")
        if name:
            names.setdefault(_country_key(name), region)
        for alias in aliases:
            names[_country_key(alias)] = region
    return names


# A large import names the same few countries on every row.
@lru_cache(maxsize=4096)
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

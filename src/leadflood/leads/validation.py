"""Turns one mapped CSV row into a lead, or into a rejection that says why.

Policy: a value that is present but unusable (a phone that is not a number, a time zone that does
not exist, "many" employees) rejects the row with a stable reason code rather than importing the
lead without it: the rejected-rows file shows the user what to fix, and nothing is dropped
silently. Empty values and common "no value" markers ("n/a", "-", "null") are simply absent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import timezone as phone_timezones

from leadflood.leads.countries import country_code, zone_for_country, zone_names
from leadflood.leads.csv_reader import RowProblem
from leadflood.leads.mapping import CUSTOM_PREFIX
from leadflood.leads.verification import is_disposable, is_free_mail

_NULLS = {"-", "--", "—", "n/a", "#n/a", "null", "(null)", "none", "(none)", "undefined"}
_US_ZONES = {
    "et": "America/New_York", "est": "America/New_York", "edt": "America/New_York",
    "ct": "America/Chicago", "cst": "America/Chicago", "cdt": "America/Chicago",
    "mt": "America/Denver", "mst": "America/Denver", "mdt": "America/Denver",
    "pt": "America/Los_Angeles", "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles",
}  # fmt: skip
# The lead table's column sizes: a longer value is rejected here rather than failing the insert.
FIELD_LIMITS = {
    "email": 320, "first_name": 120, "last_name": 120, "title": 200, "seniority": 40,
    "department": 80, "linkedin_url": 300, "company_name": 200, "company_domain": 253,
    "website": 300, "industry": 120, "city": 120, "timezone": 64,
}  # fmt: skip
_DOT_ATOM = re.compile(r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_LINKEDIN_PATHS = ("/in/", "/pub/", "/sales/lead/", "/sales/people/", "/talent/profile/")
_HONORIFICS = {"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "mx"}
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "phd", "md", "mba", "cpa", "esq", "pmp"}
_EMPLOYEES = re.compile(
    r"^(\d+(?:\.\d+)?)\s*([km]?)\s*(?:(?:-|\u2013|to)\s*\d+(?:\.\d+)?\s*[km]?)?\+?$"
)


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    field: str | None
    message: str


@dataclass(slots=True)
class NormalizedLead:
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    phone: str | None = None  # E.164
    linkedin_url: str | None = None
    company_name: str | None = None
    company_domain: str | None = None
    website: str | None = None
    city: str | None = None
    country: str | None = None  # ISO 3166 alpha-2
    timezone: str | None = None  # IANA
    seniority: str | None = None
    department: str | None = None
    industry: str | None = None
    employee_count: int | None = None
    custom: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Rejection:
    reasons: list[Reason]
    raw: dict[str, str]

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.reasons]

    def summary(self) -> str:
        return "; ".join(f"{r.code}: {r.message}" for r in self.reasons)


def normalize_row(
    raw: dict[str, str],
    mapping: dict[str, str | None],
    *,
    default_region: str | None = None,
    problem: RowProblem | None = None,
) -> NormalizedLead | Rejection:
    """`problem` comes from the CSV reader (a ragged or malformed row): such a row is rejected as
    a whole, since its columns may be shifted. `default_region` is the ISO code used to read
    national phone numbers when the row has no recognised country."""
    if problem is not None:
        return Rejection([Reason(problem.code, None, problem.message)], dict(raw))
    values: dict[str, str] = {}
    custom: dict[str, str] = {}
    for header, target in mapping.items():
        value = _clean(raw.get(header))
        if target is None or value is None:
            continue
        if target.startswith(CUSTOM_PREFIX):
            custom[target.removeprefix(CUSTOM_PREFIX)] = value
        else:
            values[target] = value
    reasons: list[Reason] = []
    number: phonenumbers.PhoneNumber | None = None
    lead = NormalizedLead(custom=custom)
    for name in ("title", "company_name", "city", "seniority", "department", "industry"):
        setattr(lead, name, values.get(name))
    lead.first_name, lead.last_name = _names(values)
    if "email" in values:
        lead.email = _email(values["email"], reasons)
    if "country" in values:
        lead.country = country_code(values["country"])
        if lead.country is None:
            reasons.append(
                Reason("invalid_country", "country", f"{values['country']!r} is not a country.")
            )
    region = lead.country or default_region
    if "phone" in values:
        number = _phone(values["phone"], region, reasons, custom)
        if number is not None:
            lead.phone = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if "linkedin_url" in values:
        lead.linkedin_url = _linkedin(values["linkedin_url"], reasons)
    if "website" in values:
        lead.website = _website(values["website"], reasons)
    lead.company_domain = _company_domain(values.get("company_domain"), lead, reasons)
    lead.timezone = _timezone(values.get("timezone"), number, region, reasons)
    if "employee_count" in values:
        lead.employee_count = _employee_count(values["employee_count"], reasons)
    named = lead.first_name or lead.last_name
    for name, limit in FIELD_LIMITS.items():
        value = getattr(lead, name)
        if value is not None and len(value) > limit:
            message = f"{len(value)} characters; at most {limit} fit."
            reasons.append(Reason("value_too_long", name, message))
    company = lead.company_name or lead.company_domain
    if not (lead.email or lead.linkedin_url or (named and company)) and not reasons:
        reasons.append(
            Reason(
                "missing_identity",
                None,
                "The row needs an email, a LinkedIn URL, or a name and a company.",
            )
        )
    if reasons:
        return Rejection(reasons, dict(raw))
    return lead


def dedupe_key(lead: NormalizedLead) -> str | None:
    """The identity used to find the same person twice: email, else LinkedIn, else name+company."""
    if lead.email:
        return "email:" + lead.email.lower()
    if lead.linkedin_url:
        return "linkedin:" + lead.linkedin_url.lower()
    name = " ".join(p for p in (lead.first_name, lead.last_name) if p)
    company = lead.company_domain or lead.company_name
    if name and company:
        return "name:" + " ".join(f"{name}|{company}".lower().split())
    return None


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value or value.casefold() in _NULLS:
        return None
    return value


def _names(values: dict[str, str]) -> tuple[str | None, str | None]:
    first, last = values.get("first_name"), values.get("last_name")
    full = values.get("full_name")
    if full and not (first and last):
        split_first, split_last = split_full_name(full)
        if not first and not last:
            return split_first, split_last
        if first and split_first and first.casefold() == split_first.casefold():
            return first, split_last
    return first, last


def split_full_name(full: str) -> tuple[str | None, str | None]:
    """ "Jane van der Berg" -> ("Jane", "van der Berg"); "Berg, Jane" -> ("Jane", "Berg");
    honorifics and trailing suffixes ("Dr.", ", PhD") are left out of both parts."""
    parts = [p.strip() for p in full.split(",")]
    while len(parts) > 1 and parts[-1].rstrip(".").casefold() in _SUFFIXES:
        parts.pop()
    if len(parts) == 2 and parts[0] and parts[1]:
        return parts[1], parts[0]
    words = " ".join(parts).split()
    while words and words[0].rstrip(".").casefold() in _HONORIFICS:
        words.pop(0)
    while len(words) > 1 and words[-1].rstrip(".").casefold() in _SUFFIXES:
        words.pop()
    if not words:
        return None, None
    return words[0], " ".join(words[1:]) or None


def _email(value: str, reasons: list[Reason]) -> str | None:
    # Fast path for plain ASCII addresses (most rows of a large import): the domain verdict is
    # cached, since many rows share a company domain. Anything else gets the full validator.
    local, at, domain = value.rpartition("@")
    short = len(value) <= 254 and len(local) <= 64
    if at and short and _DOT_ATOM.fullmatch(local) and _domain_accepts_mail(domain):
        return value
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        reasons.append(Reason("invalid_email", "email", f"{value!r}: {exc}"))
        return None
    return value


@lru_cache(maxsize=65_536)
def _domain_accepts_mail(domain: str) -> bool:
    try:
        validate_email("a@" + domain, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _phone(
    value: str, region: str | None, reasons: list[Reason], custom: dict[str, str]
) -> phonenumbers.PhoneNumber | None:
    text = value.lstrip("'")  # spreadsheets prefix numbers with ' to keep the leading +
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        number = None
    valid = number is not None and (
        (region is not None and phonenumbers.is_valid_number_for_region(number, region))
        or phonenumbers.is_valid_number(number)
    )
    if number is None or not valid:
        hint = "" if region else " (no country to read a national number)"
        reasons.append(Reason("invalid_phone", "phone", f"{value!r} is not a valid number{hint}."))
        return None
    if number.extension:
        custom.setdefault("phone_extension", number.extension)
    return number


def _host(value: str) -> tuple[str, str] | None:
    """(lower-case host, path) of a URL given with or without its scheme; None if not a URL."""
    text = value if "://" in value else "https://" + value
    try:
        parts = urlsplit(text)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host or parts.username or port:
        return None
    return host.rstrip("."), parts.path


def valid_domain(host: str) -> bool:
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.split(".")
    tld = labels[-1]
    return (
        len(labels) >= 2
        and len(ascii_host) <= 253
        and all(_LABEL.match(label) for label in labels)
        and (tld.isalpha() or tld.startswith("xn--"))
    )


def _linkedin(value: str, reasons: list[Reason]) -> str | None:
    parsed = _host(value)
    if parsed is not None:
        host, path = parsed
        path = path.rstrip("/")
        if (host == "linkedin.com" or host.endswith(".linkedin.com")) and path.startswith(
            _LINKEDIN_PATHS
        ):
            return "https://www.linkedin.com" + path
    reasons.append(
        Reason("invalid_linkedin_url", "linkedin_url", f"{value!r} is not a LinkedIn profile URL.")
    )
    return None


def _website(value: str, reasons: list[Reason]) -> str | None:
    parsed = _host(value)
    if parsed is None or not valid_domain(parsed[0]):
        reasons.append(Reason("invalid_website", "website", f"{value!r} is not a website URL."))
        return None
    host, path = parsed
    return f"https://{host}{path.rstrip('/')}"


def _company_domain(value: str | None, lead: NormalizedLead, reasons: list[Reason]) -> str | None:
    if value is not None:
        parsed = _host(value)
        if parsed is None or not valid_domain(parsed[0]):
            reasons.append(
                Reason("invalid_company_domain", "company_domain", f"{value!r} is not a domain.")
            )
            return None
        return parsed[0].removeprefix("www.")
    if lead.website:
        parsed = _host(lead.website)
        if parsed is not None:
            return parsed[0].removeprefix("www.")
    if lead.email and "@" in lead.email:
        domain = lead.email.rsplit("@", 1)[1].lower()
        if not is_free_mail(domain) and not is_disposable(domain):
            return domain
    return None


def _timezone(
    value: str | None,
    number: phonenumbers.PhoneNumber | None,
    region: str | None,
    reasons: list[Reason],
) -> str | None:
    if value is not None:
        zone = canonical_zone(value)
        if zone is None:
            reasons.append(
                Reason("invalid_timezone", "timezone", f"{value!r} is not an IANA time zone.")
            )
        return zone
    if region is not None and (zone := zone_for_country(region)) is not None:
        return zone
    # is_valid_number_for_region checks one region; region_code_for_number tries every region
    # sharing the country code (two dozen for +1), which dominates a large import.
    if number is not None and (
        region is None or phonenumbers.is_valid_number_for_region(number, region)
    ):
        zones = [z for z in phone_timezones.time_zones_for_number(number) if "/" in z]
        if len(zones) == 1 and canonical_zone(zones[0]):
            return zones[0]
    return None


def canonical_zone(value: str) -> str | None:
    text = value.strip()
    # IANA's own "EST"/"MST" are fixed offsets without summer time: the trap is taking them
    # literally, so the US abbreviations map to the zones people mean.
    if text.casefold() in _US_ZONES:
        return _US_ZONES[text.casefold()]
    return zone_names().get(text.casefold())


def _employee_count(value: str, reasons: list[Reason]) -> int | None:
    text = re.sub(r"(?<=\d)[,\s'](?=\d{3})", "", value.casefold())
    text = text.removesuffix("employees").removesuffix("employee").strip()
    match = _EMPLOYEES.match(text)
    if match is None:
        reasons.append(
            Reason("invalid_employee_count", "employee_count", f"{value!r} is not a head count.")
        )
        return None
    scale = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2)]
    return int(float(match.group(1)) * scale)

"""The checks behind `validation.normalize_row`, one value at a time.

A large import judges a million rows, and most of its values repeat (a company's website and
domain, countries, head counts, switchboard phone numbers) or follow one common shape (a plain
ASCII address, `https://www.linkedin.com/in/<slug>`). So each check is memoised per distinct
value in a bounded cache, and the common shapes take a fast path that accepts only what the full
check accepts, with the same result; anything unusual goes to the full check
(tests/leads/test_identities.py compares the two on generated input).
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from urllib.parse import urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import timezone as phone_timezones

from leadflood.leads.countries import zone_names
from leadflood.leads.email_checks import is_disposable, is_free_mail

# Bounds per worker process: ~400 bytes an entry, so tens of MB at worst.
CACHE_VALUES = 65_536
_US_ZONES = {
    "et": "America/New_York", "est": "America/New_York", "edt": "America/New_York",
    "ct": "America/Chicago", "cst": "America/Chicago", "cdt": "America/Chicago",
    "mt": "America/Denver", "mst": "America/Denver", "mdt": "America/Denver",
    "pt": "America/Los_Angeles", "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles",
}  # fmt: skip
_PLAIN_ADDRESS = re.compile(r"([A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*)@([^@]*)")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
LINKEDIN_PATHS = ("/in/", "/pub/", "/sales/lead/", "/sales/people/", "/talent/profile/")
# Scheme and host are case-insensitive, the path is not ("/IN/x" is no profile); no port, no
# user, no trailing dot, no doubled slash: those take the full check.
_PLAIN_LINKEDIN = re.compile(
    r"(?:(?i:https?)://)?(?i:(?:[a-z0-9-]+\.)*linkedin\.com)"
    r"(/(?:in|pub|sales/lead|sales/people|talent/profile)/[A-Za-z0-9_.~%-]+(?:/[A-Za-z0-9_.~%-]+)*)"
    r"/?(?:[?#].*)?"
)
_EMPLOYEES = re.compile(
    r"^(\d+(?:\.\d+)?)\s*([km]?)\s*(?:(?:-|\u2013|to)\s*\d+(?:\.\d+)?\s*[km]?)?\+?$"
)
_THOUSANDS = re.compile(r"(?<=\d)[,\s'](?=\d{3})")


def email_problem(value: str) -> str | None:
    """None when `value` is an acceptable address, else email-validator's explanation."""
    plain = _PLAIN_ADDRESS.fullmatch(value)
    if (
        plain is not None
        and len(value) <= 254
        and len(plain[1]) <= 64
        and _domain_accepts_mail(plain[2])
    ):
        return None
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


@lru_cache(maxsize=CACHE_VALUES)
def _domain_accepts_mail(domain: str) -> bool:
    try:
        validate_email("a@" + domain, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


@lru_cache(maxsize=CACHE_VALUES)
def company_mail_domain(domain: str) -> bool:
    """Whether an address at `domain` (lower case) says which company the person works for."""
    return not is_free_mail(domain) and not is_disposable(domain)


@lru_cache(maxsize=CACHE_VALUES)
def phone_e164(value: str, region: str | None) -> tuple[str, str] | None:
    """(E.164, extension or "") of a number as typed, read as national in `region` when it has
    no +country code; None when it is not a valid number."""
    text = value.lstrip("'")  # spreadsheets prefix numbers with ' to keep the leading +
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    valid = (
        region is not None and phonenumbers.is_valid_number_for_region(number, region)
    ) or phonenumbers.is_valid_number(number)
    if not valid:
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164, number.extension or ""


@lru_cache(maxsize=CACHE_VALUES)
def number_zone(e164: str, region: str | None) -> str | None:
    """The zone of a valid number when its prefix has exactly one (and it belongs to `region`)."""
    number = phonenumbers.parse(e164)
    # is_valid_number_for_region checks one region; region_code_for_number tries every region
    # sharing the country code (two dozen for +1).
    if region is not None and not phonenumbers.is_valid_number_for_region(number, region):
        return None
    zones = [z for z in phone_timezones.time_zones_for_number(number) if "/" in z]
    if len(zones) == 1 and canonical_zone(zones[0]):
        return zones[0]
    return None


def host_of(value: str) -> tuple[str, str] | None:
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


def linkedin_url(value: str) -> str | None:
    """The canonical `https://www.linkedin.com/...` form of a profile URL; None if not one."""
    plain = _PLAIN_LINKEDIN.fullmatch(value)
    if plain is not None:
        return "https://www.linkedin.com" + plain[1]
    return linkedin_url_checked(value)


def linkedin_url_checked(value: str) -> str | None:
    parsed = host_of(value)
    if parsed is not None:
        host, path = parsed
        path = path.rstrip("/")
        if (host == "linkedin.com" or host.endswith(".linkedin.com")) and path.startswith(
            LINKEDIN_PATHS
        ):
            return "https://www.linkedin.com" + path
    return None


@lru_cache(maxsize=CACHE_VALUES)
def website(value: str) -> tuple[str, str | None] | None:
    """(canonical URL, its host without "www.") of a website; None if not a website URL."""
    parsed = host_of(value)
    if parsed is None or not valid_domain(parsed[0]):
        return None
    host, path = parsed
    url = f"https://{host}{path.rstrip('/')}"
    # The domain is read back from the canonical URL, as a stored website would be.
    again = host_of(url)
    return url, again[0].removeprefix("www.") if again is not None else None


@lru_cache(maxsize=CACHE_VALUES)
def company_domain(value: str) -> str | None:
    parsed = host_of(value)
    if parsed is None or not valid_domain(parsed[0]):
        return None
    return parsed[0].removeprefix("www.")


def canonical_zone(value: str) -> str | None:
    text = value.strip()
    # IANA's own "EST"/"MST" are fixed offsets without summer time: the trap is taking them
    # literally, so the US abbreviations map to the zones people mean.
    if text.casefold() in _US_ZONES:
        return _US_ZONES[text.casefold()]
    return zone_names().get(text.casefold())


@lru_cache(maxsize=CACHE_VALUES)
def employee_count(value: str) -> int | None:
    text = _THOUSANDS.sub("", value.casefold())
    text = text.removesuffix("employees").removesuffix("employee").strip()
    match = _EMPLOYEES.match(text)
    if match is None:
        return None
    scale = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2)]
    return int(float(match.group(1)) * scale)


# The matching keys of a person's identities: the form a suppression stores and every check
# compares, whatever way the value was typed. Lenient on purpose (a suppression must take any
# address a person asks to be forgotten under); the stricter checks above decide what a lead's
# fields may hold.


def email_key(value: str) -> str | None:
    raw = value.strip()
    local, at, domain = raw.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in raw):
        return None
    return raw.lower()


def email_domain_key(email: str) -> str | None:
    """The domain of an address as a domain suppression stores it."""
    if "@" not in email:
        return None
    return email.strip().rpartition("@")[2].lower().rstrip(".") or None


def domain_key(value: str) -> str | None:
    domain = value.strip().lower().removeprefix("@").rstrip(".")
    if "://" in domain:
        domain = (urlsplit(domain).hostname or "").rstrip(".")
    if "." not in domain or any(c.isspace() or c in "/@" for c in domain):
        return None
    return domain


def phone_key(value: str) -> str | None:
    """E.164 of a number given with its +country code (a possible number, not only an
    assigned one: an opt-out is never refused on a technicality)."""
    try:
        number = phonenumbers.parse(value.strip().lstrip("'"), None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def linkedin_key(value: str) -> str | None:
    """`https://www.linkedin.com` and the lower-cased path of any LinkedIn URL."""
    raw = value.strip()
    url = raw if "://" in raw else "https://" + raw
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    path = parts.path.rstrip("/").lower()
    if not (host == "linkedin.com" or host.endswith(".linkedin.com")) or len(path) < 2:
        return None
    return "https://www.linkedin.com" + path


# An erasure keeps a person's identities only as digests of their matching keys, so that they
# are never imported or contacted again while nothing readable about them is left.
#
# SHA-256 over a fixed, versioned prefix, the kind and the key, and nothing else:
# - no workspace in it: the same person gives the same digest everywhere, so an instance-wide
#   entry and a workspace's entry are one form, and moving an entry between scopes keeps it;
# - no secret pepper: an erasure must keep working for as long as the data exists, across key
#   rotations, a restore on another machine and a lost secret; a peppered digest silently stops
#   matching when its secret changes, and the person is then imported and contacted again,
#   which is the very harm this exists to prevent. The cost: someone who can read the database
#   and already knows an address can confirm it was erased; nobody can read an address off it.
# - the prefix separates these digests from any other SHA-256 of an email, and its version lets
#   a later scheme coexist with this one.
ERASURE_SCHEME = "leadflood-erasure-v1"
DIGEST_PREFIX = "sha256:"


def identity_digest(kind: str, key: str) -> str:
    """The stored form of an erased identity: `kind` (email, phone, linkedin, person) and its
    matching key (`email_key`, `phone_key`, `linkedin_key`, `person_key`)."""
    payload = f"{ERASURE_SCHEME}|{kind}|{key}".encode()
    return DIGEST_PREFIX + hashlib.sha256(payload).hexdigest()


def person_key(source: str, person_id: str) -> str | None:
    """A provider's id of a person, qualified by the provider (ids of two providers may clash)."""
    source, person_id = source.strip().lower(), person_id.strip()
    return f"{source}:{person_id}" if source and person_id else None


def identity_keys(
    *,
    email: str | None = None,
    phone: str | None = None,
    linkedin_url: str | None = None,
    source: str | None = None,
    person_id: str | None = None,
) -> list[tuple[str, str]]:
    """(kind, matching key) of each identity given that has one."""
    found: list[tuple[str, str]] = []
    for kind, value, to_key in (
        ("email", email, email_key),
        ("phone", phone, phone_key),
        ("linkedin", linkedin_url, linkedin_key),
    ):
        key = to_key(value) if value else None
        if key:
            found.append((kind, key))
    if source and person_id:
        key = person_key(source, person_id)
        if key:
            found.append(("person", key))
    return found

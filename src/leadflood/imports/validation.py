"""Turns one mapped CSV row into a lead, or into a rejection that says why.

Policy: the import keeps every lead it can. A row is rejected only when it cannot be a lead: its
email is not an address, or it has no identity at all (no email, LinkedIn URL, provider person id,
nor a name and a company), or the CSV reader could not split it. A present but unusable optional
value (a phone that is not a number, a time zone that does not exist, "many" employees) is left
out of the lead, and the row is kept with a warning carrying a stable reason code: the warnings
file shows the user what was dropped. Empty values and common "no value" markers ("n/a", "-",
"null") are simply absent, except the words among them in a file Lead Flood exported: it writes
a missing value as an empty cell, so there a person named "None" keeps the name (`RowPlan`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from leadflood.imports import mapping as columns_mapping
from leadflood.imports.csv_reader import RowProblem
from leadflood.imports.mapping import CUSTOM_PREFIX, MULTI_FIELDS, column_rank
from leadflood.leads import identities as checks
from leadflood.leads.columns import LEAD_COLUMNS
from leadflood.leads.countries import country_code, zone_for_country

NULL_MARKERS = frozenset(
    {"-", "--", "—", "n/a", "#n/a", "null", "(null)", "none", "(none)", "undefined"}
)
# casefold() never shortens a string: a longer value cannot be one of the markers, nor can one
# that starts with none of their first characters (most names, titles and numbers).
_NULL_MAX = max(len(marker) for marker in NULL_MARKERS)
# In a leads export (which writes a missing value as an empty cell) the words among them are
# data, a person named "None" or "Null"; the symbols ("#N/A" of a spreadsheet formula, "n/a",
# "-" typed into an exported file) are still no value.
EXPORT_NULL_MARKERS = frozenset({"-", "--", "—", "n/a", "#n/a"})


def _starts(markers: frozenset[str]) -> frozenset[str]:
    return frozenset(c for m in markers for c in (m[0], m[0].upper(), m[0].title()))


# The lead table's column sizes: a longer value is rejected here rather than failing the insert.
FIELD_LIMITS = {
    "email": 320, "first_name": 120, "last_name": 120, "title": 200, "seniority": 40,
    "department": 80, "linkedin_url": 300, "company_name": 200, "company_domain": 253,
    "website": 300, "industry": 120, "city": 120, "timezone": 64, "provider_person_id": 200,
}  # fmt: skip
MAX_HEAD_COUNT = 2_147_483_647  # the column is a PostgreSQL integer
_LIMITS = tuple(FIELD_LIMITS.items())
_HONORIFICS = {"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "mx"}
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "phd", "md", "mba", "cpa", "esq", "pmp"}


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
    provider_person_id: str | None = None
    custom: dict[str, str] = field(default_factory=dict)
    # The values left out of the lead, and why.
    warnings: list[Reason] = field(default_factory=list)


@dataclass(slots=True)
class Rejection:
    reasons: list[Reason]
    raw: dict[str, str]

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.reasons]

    def summary(self) -> str:
        return "; ".join(f"{r.code}: {r.message}" for r in self.reasons)


class RowPlan:
    """A mapping compiled against a file's columns, for judging rows given as field sequences:
    the import does not build a dict per row."""

    __slots__ = ("_markers", "_multi", "_null_starts", "_targets", "headers")

    def __init__(self, headers: Sequence[str], mapping: Mapping[str, str | None]) -> None:
        position = {header: index for index, header in enumerate(headers)}
        self.headers = list(headers)
        # A leads export (its columns first) has no placeholders: every non-empty cell is data.
        exported = is_leads_export(headers)
        self._markers = EXPORT_NULL_MARKERS if exported else NULL_MARKERS
        self._null_starts = _starts(self._markers)
        mapped = [(h, t) for h, t in mapping.items() if t is not None and h in position]
        # In the mapping's order: when two columns feed one field, the later non-empty one wins.
        self._targets = [
            (
                position[header],
                target,
                target.removeprefix(CUSTOM_PREFIX) if target.startswith(CUSTOM_PREFIX) else None,
            )
            for header, target in mapped
            if target not in MULTI_FIELDS
        ]
        # Per field fed by several columns, its columns in the order their values are tried,
        # each with the header and the custom field that keeps a value the field did not take.
        used = {name for _, _, name in self._targets if name is not None}
        self._multi: list[tuple[str, list[tuple[int, str, str]]]] = []
        for name in sorted(MULTI_FIELDS):
            columns = sorted(
                (column_rank(header, name), position[header], header)
                for header, target in mapped
                if target == name
            )
            if columns:
                fed = [
                    (index, header, _spare(columns_mapping.custom_name(header), used))
                    for _, index, header in columns
                ]
                self._multi.append((name, fed))

    def judge(
        self, fields: Sequence[str], default_region: str | None = None
    ) -> NormalizedLead | list[Reason]:
        """The lead, or the reasons (never empty) to reject the row. `fields` are in the order
        of `headers`, as many as there are headers."""
        values: dict[str, str] = {}
        custom: dict[str, str] = {}
        markers, starts = self._markers, self._null_starts
        for index, target, custom_name in self._targets:
            value = fields[index].strip()
            if not value or (
                value[0] in starts and len(value) <= _NULL_MAX and value.casefold() in markers
            ):
                continue
            if custom_name is not None:
                custom[custom_name] = value
            else:
                values[target] = value
        multi: dict[str, list[tuple[str, str, str]]] = {}
        for name, columns in self._multi:
            candidates = []
            for index, header, spare in columns:
                value = fields[index].strip()
                if value and not (
                    value[0] in starts and len(value) <= _NULL_MAX and value.casefold() in markers
                ):
                    candidates.append((header, spare, value))
            if candidates:
                multi[name] = candidates
        return _judge(values, custom, default_region, multi)


def is_leads_export(headers: Sequence[str]) -> bool:
    """Whether a file's columns begin with a leads export's own (`leads.columns`)."""
    return tuple(header.strip() for header in headers[: len(LEAD_COLUMNS)]) == LEAD_COLUMNS


def _spare(name: str, used: set[str]) -> str:
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{name[:60]}_{n}"
    used.add(candidate)
    return candidate


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
    outcome = RowPlan(list(raw), mapping).judge(list(raw.values()), default_region)
    return outcome if isinstance(outcome, NormalizedLead) else Rejection(outcome, dict(raw))


def _judge(
    values: dict[str, str],
    custom: dict[str, str],
    default_region: str | None,
    multi: Mapping[str, list[tuple[str, str, str]]],
) -> NormalizedLead | list[Reason]:
    # The order of the checks is the order of the reasons in the rejected and warnings files.
    problems: list[Reason] = []
    fatal = False
    get = values.get
    first, last = _names(get("first_name"), get("last_name"), get("full_name"))
    lead = NormalizedLead(
        first_name=first,
        last_name=last,
        title=get("title"),
        city=get("city"),
        seniority=get("seniority"),
        department=get("department"),
        industry=get("industry"),
        provider_person_id=get("provider_person_id"),
        custom=custom,
        warnings=problems,
    )
    if (value := get("email")) is not None:
        problem = checks.email_problem(value)
        if problem is None:
            lead.email = value
        else:
            fatal = True
            problems.append(Reason("invalid_email", "email", f"{value!r}: {problem}"))
    for _header, spare, value in multi.get("company_name", ()):
        if lead.company_name is None:
            lead.company_name = value
        elif value != lead.company_name:
            custom.setdefault(spare, value)
    if (value := get("country")) is not None:
        lead.country = country_code(value)
        if lead.country is None:
            problems.append(Reason("invalid_country", "country", f"{value!r} is not a country."))
    region = lead.country or default_region
    phones = multi.get("phone", ())
    seen: set[str] = set()  # exports repeat one number in several columns: judged and kept once
    for header, spare, value in phones:
        if value in seen:
            continue
        seen.add(value)
        phone = checks.phone_e164(value, region)
        if phone is None:
            where = f" in {header!r}" if len(phones) > 1 else ""
            hint = "" if region else " (no country to read a national number)"
            message = f"{value!r}{where} is not a valid number{hint}."
            problems.append(Reason("invalid_phone", "phone", message))
        elif lead.phone is None:
            lead.phone, extension = phone
            seen.add(lead.phone)
            if extension:
                custom.setdefault("phone_extension", extension)
        elif phone[0] not in seen:
            number, extension = phone
            seen.add(number)
            custom.setdefault(spare, f"{number} ext. {extension}" if extension else number)
    if (value := get("linkedin_url")) is not None:
        lead.linkedin_url = checks.linkedin_url(value)
        if lead.linkedin_url is None:
            message = f"{value!r} is not a LinkedIn profile URL."
            problems.append(Reason("invalid_linkedin_url", "linkedin_url", message))
    site_domain = None
    if (value := get("website")) is not None:
        site = checks.website(value)
        if site is None:
            problems.append(
                Reason("invalid_website", "website", f"{value!r} is not a website URL.")
            )
        else:
            lead.website, site_domain = site
    if (value := get("company_domain")) is not None:
        lead.company_domain = checks.company_domain(value)
        if lead.company_domain is None:
            message = f"{value!r} is not a domain."
            problems.append(Reason("invalid_company_domain", "company_domain", message))
    if lead.company_domain is not None:
        pass
    elif site_domain is not None:
        lead.company_domain = site_domain
    elif lead.email and "@" in lead.email:
        domain = lead.email.rsplit("@", 1)[1].lower()
        if checks.company_mail_domain(domain):
            lead.company_domain = domain
    if (value := get("timezone")) is not None:
        lead.timezone = checks.canonical_zone(value)
        if lead.timezone is None:
            message = f"{value!r} is not an IANA time zone."
            problems.append(Reason("invalid_timezone", "timezone", message))
    if lead.timezone is not None:
        pass
    elif region is not None and (zone := zone_for_country(region)) is not None:
        lead.timezone = zone
    elif lead.phone is not None:
        lead.timezone = checks.number_zone(lead.phone, region)
    if (value := get("employee_count")) is not None:
        lead.employee_count = checks.employee_count(value)
        if lead.employee_count is None:
            message = f"{value!r} is not a head count."
            problems.append(Reason("invalid_employee_count", "employee_count", message))
        elif lead.employee_count > MAX_HEAD_COUNT:
            lead.employee_count = None
            message = f"{value!r} is not a plausible head count."
            problems.append(Reason("value_too_large", "employee_count", message))
    for name, limit in _LIMITS:
        text = getattr(lead, name)
        if text is not None and len(text) > limit:
            message = f"{len(text)} characters; at most {limit} fit."
            problems.append(Reason("value_too_long", name, message))
            fatal = fatal or name == "email"
            setattr(lead, name, None)
    if fatal:
        return problems
    named = lead.first_name or lead.last_name
    company = lead.company_name or lead.company_domain
    if not (lead.email or lead.linkedin_url or lead.provider_person_id or (named and company)):
        message = "The row needs an email, a LinkedIn URL, a person id, or a name and a company."
        return [*problems, Reason("missing_identity", None, message)]
    return lead


def dedupe_key(lead: NormalizedLead) -> str | None:
    """The identity used to find the same person twice: email, else LinkedIn, else the
    provider's person id, else name+company."""
    if lead.email:
        return "email:" + lead.email.lower()
    if lead.linkedin_url:
        return "linkedin:" + lead.linkedin_url.lower()
    if lead.provider_person_id:
        return "person:" + lead.provider_person_id
    name = " ".join(p for p in (lead.first_name, lead.last_name) if p)
    company = lead.company_domain or lead.company_name
    if name and company:
        return "name:" + " ".join(f"{name}|{company}".lower().split())
    return None


def _names(first: str | None, last: str | None, full: str | None) -> tuple[str | None, str | None]:
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

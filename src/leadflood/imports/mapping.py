"""Column mapping from a CSV header to lead fields.

A mapping is `{header: target}` where target is a lead field, `"custom:<name>"` (kept in the
lead's custom fields) or None (the column is ignored on purpose). Automatic mapping never drops a
column: whatever is not recognised becomes a custom field.

Most fields take one column. A lead has one phone and one company name, but exports carry
several of each (Apollo: Mobile, Work Direct, First and Corporate Phone; Company and Company Name
for Emails): every such column maps to the field, and each row takes the first usable value in
`column_rank` order, keeping the others as custom fields (see `validation.RowPlan`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from leadflood.errors import InvalidInput
from leadflood.leads.columns import LEAD_COLUMNS, READ_ONLY

FieldMapping = dict[str, str | None]

LEAD_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "full_name",
    "title",
    "phone",
    "linkedin_url",
    "company_name",
    "company_domain",
    "website",
    "city",
    "country",
    "timezone",
    "seniority",
    "department",
    "industry",
    "employee_count",
    "provider_person_id",
)
# Fields several columns may feed, the first usable value winning.
MULTI_FIELDS = frozenset({"phone", "company_name"})
CUSTOM_PREFIX = "custom:"
_CUSTOM_NAME = re.compile(r"^[a-z0-9_]{1,64}$")

# Per field, aliases in order of preference: when several columns match one field, the one whose
# alias comes first wins and the others become custom fields (for MULTI_FIELDS, the order in which
# a row's values are tried). Compared after `normalize_header`.
_ALIASES: dict[str, str] = {
    "email": "email|email address|e-mail|work email|business email|primary email|email 1"
    "|emails|contact email|courriel|correo|correo electronico",
    "first_name": "first name|firstname|given name|forename|prenom|vorname|nombre",
    "last_name": "last name|lastname|surname|family name|nom|nachname|apellido|apellidos",
    "full_name": "full name|name|contact name|person name|lead name|nom complet",
    "title": "title|job title|position|current title|job position|role|job role"
    "|current position|poste|fonction|titel|cargo",
    # Lines that reach the person first (a mobile, then a direct dial); then Apollo's "First
    # Phone", the contact's first number of whatever kind; a switchboard ("Corporate Phone")
    # is the last resort, since whoever answers it is not the person.
    "phone": "phone|phone number|mobile phone|mobile|mobile phone number|cell|cell phone"
    "|work direct phone|direct phone|direct dial|work phone|telephone|tel|telefon|telefono"
    "|first phone|primary phone|corporate phone|company phone",
    "linkedin_url": "linkedin url|person linkedin url|linkedin profile url|linkedin profile"
    "|profile url|linkedin|public profile url|linkedin public url|member profile url"
    "|linkedin member url|sales navigator url",
    # Apollo's "Company Name for Emails" is the cleaned name ("Acme", not "Acme, Inc."), the one
    # a template should say; the legal name then stays as a custom field.
    "company_name": "company name for emails|company name|company|current company"
    "|organization|organisation|organization name|account name|employer|associated company"
    "|entreprise|firma|empresa",
    "company_domain": "company domain|company domain name|domain|email domain",
    "website": "website|company website|website url|company url|web site|homepage|site web",
    "city": "city|person city|town|ville|stadt|ciudad|company city",
    "country": "country|person country|country/region|pays|land|pais|company country",
    "timezone": "timezone|time zone|tz|iana timezone",
    "seniority": "seniority|seniority level|management level|job level",
    "department": "department|departments|job function|function",
    "industry": "industry|company industry|sector|industry type|branche",
    "employee_count": "employee count|employees|number of employees|# employees|company size"
    "|headcount|num employees|company headcount|size|estimated num employees|employees count",
    # The person's id in the tool the file came from: it finds the same person again when the
    # row has neither email nor LinkedIn URL.
    "provider_person_id": "apollo contact id|apollo person id|contact id|person id"
    "|sales navigator urn|sales navigator id|sales navigator lead urn|lead urn|profile urn"
    "|linkedin urn|member urn|person urn|linkedin member id|linkedin profile id|vmid",
}


class MappingError(InvalidInput, ValueError):
    code = "invalid_mapping"
    message = "The column mapping is not valid."

    def __init__(self, message: str, *, code: str, details: object = None) -> None:
        super().__init__(message, details=details)
        self.code = code


def normalize_header(header: str) -> str:
    """Case, accents, spaces, underscores and punctuation do not count: "E-Mail_Address" and
    "email address" compare equal."""
    text = unicodedata.normalize("NFKD", header.replace("#", " number "))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]", "", text.casefold())


_BY_ALIAS: dict[str, tuple[str, int]] = {}
for _field, _aliases in _ALIASES.items():
    for _rank, _alias in enumerate(_aliases.split("|")):
        _BY_ALIAS.setdefault(normalize_header(_alias), (_field, _rank))


def custom_name(header: str) -> str:
    text = unicodedata.normalize("NFKD", header)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")[:64] or "column"


def column_rank(header: str, field: str) -> int:
    """Where a column feeding `field` comes among the others: its alias's rank, or after every
    alias for a column mapped by hand."""
    match = _BY_ALIAS.get(normalize_header(header))
    return match[1] if match is not None and match[0] == field else len(_BY_ALIAS)


def auto_map(headers: Iterable[str]) -> FieldMapping:
    headers = list(headers)
    winners: dict[str, tuple[int, str]] = {}
    by_header: dict[str, str] = {}
    # A leads export (leads.export) imports back as the same leads: its `custom:<key>` columns
    # are those custom fields, and its read-only columns (id, status, score...) are ignored.
    exported = set(LEAD_COLUMNS) <= set(headers)
    fixed: FieldMapping = {}
    for header in headers:
        name = header.removeprefix(CUSTOM_PREFIX)
        if header.startswith(CUSTOM_PREFIX) and _CUSTOM_NAME.match(name):
            fixed[header] = header
        elif exported and header in READ_ONLY:
            fixed[header] = None
    for header in headers:
        if header in fixed:
            continue
        match = _BY_ALIAS.get(normalize_header(header))
        if match is None:
            continue
        field, rank = match
        if field in MULTI_FIELDS:
            by_header[header] = field
        elif field not in winners or rank < winners[field][0]:
            winners[field] = (rank, header)
    by_header |= {header: field for field, (_, header) in winners.items()}
    used = {t.removeprefix(CUSTOM_PREFIX) for t in fixed.values() if t is not None}
    mapping: FieldMapping = {}
    for header in headers:
        if header in fixed:
            mapping[header] = fixed[header]
        elif header in by_header:
            mapping[header] = by_header[header]
        else:
            mapping[header] = _unused_custom(custom_name(header), used)
    return mapping


def apply_overrides(
    mapping: Mapping[str, str | None], overrides: Mapping[str, str | None]
) -> FieldMapping:
    """Applies the user's choices to an automatic mapping.

    Two overridden columns on one field is an error (`duplicate_field`) unless the field is one of
    MULTI_FIELDS; an override that takes a field from an automatically mapped column moves that
    column to a custom field instead.
    Raises MappingError with code `unknown_column`, `unknown_field`, `invalid_custom_field` or
    `duplicate_field`.
    """
    for header, target in overrides.items():
        if header not in mapping:
            raise MappingError(
                f"There is no column {header!r} in the file.",
                code="unknown_column",
                details={"column": header},
            )
        _check_target(header, target)
    taken: dict[str, str] = {}
    for header, target in overrides.items():
        if target is None or target in MULTI_FIELDS:
            continue
        if target in taken:
            raise MappingError(
                f"Columns {taken[target]!r} and {header!r} are both mapped to {target!r}.",
                code="duplicate_field",
                details={"field": target, "columns": [taken[target], header]},
            )
        taken[target] = header
    targets = set(taken)
    custom = {t.removeprefix(CUSTOM_PREFIX) for t in taken if t.startswith(CUSTOM_PREFIX)}
    result: FieldMapping = {}
    for header, auto in mapping.items():
        if header in overrides:
            result[header] = overrides[header]
            continue
        target = auto
        if target is not None and target in targets and target not in MULTI_FIELDS:
            target = _unused_custom(custom_name(header), custom)
        result[header] = target
        if target is not None:
            targets.add(target)
            if target.startswith(CUSTOM_PREFIX):
                custom.add(target.removeprefix(CUSTOM_PREFIX))
    return result


def has_identity(mapping: Mapping[str, str | None]) -> bool:
    """Whether rows can be leads at all: an email, a LinkedIn URL, a provider's person id, or a
    name and a company."""
    targets = set(mapping.values())
    named = bool(targets & {"first_name", "last_name", "full_name"})
    company = bool(targets & {"company_name", "company_domain", "website"})
    identities = {"email", "linkedin_url", "provider_person_id"}
    return bool(targets & identities) or (named and company)


def _check_target(header: str, target: str | None) -> None:
    if target is None or target in LEAD_FIELDS:
        return
    if target.startswith(CUSTOM_PREFIX):
        if _CUSTOM_NAME.match(target.removeprefix(CUSTOM_PREFIX)):
            return
        raise MappingError(
            f"{target!r} is not a valid custom field: use lowercase letters, digits and _.",
            code="invalid_custom_field",
            details={"column": header, "field": target},
        )
    raise MappingError(
        f"{target!r} is not a lead field.",
        code="unknown_field",
        details={"column": header, "field": target, "fields": list(LEAD_FIELDS)},
    )


def _unused_custom(name: str, used: set[str]) -> str:
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{name[:60]}_{n}"
    used.add(candidate)
    return CUSTOM_PREFIX + candidate

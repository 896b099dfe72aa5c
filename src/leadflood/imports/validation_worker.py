"""Validation of one chunk of CSV rows, in a worker process: rows in, COPY-ready text out.

Everything here is pure and picklable. Rows travel as plain tuples of their fields (the header
once per chunk), and the output is PostgreSQL COPY text (tab-separated, `\\N` for NULL), so the
importing process only parses the file and forwards bytes to the database.
"""

from __future__ import annotations

import json
import secrets
import time
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import TYPE_CHECKING

from leadflood.imports.csv_reader import RawRecord, row_values

if TYPE_CHECKING:
    from leadflood.imports.validation import NormalizedLead, Reason

# The staging table's columns, in COPY order (see import_sql.STAGE_TABLE).
STAGE_COLUMNS = (
    "row_number",
    "id",
    "dkey",
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
    "industry",
    "employee_count",
    "city",
    "country",
    "timezone",
    "website",
    "provider_person_id",
    "custom",
)
# Rejected rows and rows kept with warnings are written alike, each to its own table.
REJECTION_COLUMNS = ("import_id", "row_number", "line", "reasons", "raw")
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": ""})
_NULL = "\\N"
_encode = json.encoder.encode_basestring


@dataclass(slots=True)
class ChunkResult:
    rows: int = 0
    last_number: int = 0
    # Row number and 64-bit digest of the dedupe key of each lead, in file order.
    numbers: array[int] = field(default_factory=lambda: array("q"))
    # The physical line each of those leads starts on.
    lines: array[int] = field(default_factory=lambda: array("q"))
    digests: array[int] = field(default_factory=lambda: array("Q"))
    leads: bytes = b""
    rejections: bytes = b""
    rejected: int = 0
    # The rows that became leads without some of their values, and why (COPY text).
    warnings: bytes = b""
    warned: int = 0
    # The distinct company domains of the chunk's leads, lower-cased.
    domains: list[str] = field(default_factory=list)
    # Whether every lead's email is plain ASCII (or absent): then the file's own dedupe, by the
    # email lower-cased in Python, is the one PostgreSQL's lower() makes too.
    ascii_emails: bool = True
    # Whether some lead carries a provider's person id (which has a unique index of its own).
    person_ids: bool = False


def key_digest(key: str) -> int:
    # Not hash(): worker processes do not share the importing process's hash seed.
    return int.from_bytes(blake2b(key.encode(), digest_size=8).digest(), "little")


def ordered_ids() -> Iterator[str]:
    """Lead ids in the UUIDv7 layout (milliseconds first, then random bits), increasing along
    the chunk: a chunk's leads land at the right edge of the primary key and of the indexes
    ending in (created_at, id), instead of on random pages of indexes larger than the buffer
    cache. The random 74 bits keep chunks and imports apart."""
    high = (time.time_ns() // 1_000_000) << 16 | 0x7000 | secrets.randbits(12)
    low = secrets.randbits(62)
    while True:
        yield f"{high:016x}{1 << 63 | low:016x}"
        low = (low + 1) & ((1 << 62) - 1)


def without_rows(chunk: ChunkResult, rows: list[int]) -> bytes:
    """The chunk's leads (COPY text, one line per lead, in the order of `chunk.numbers`) less
    those of the row numbers `rows`."""
    if not rows:
        return chunk.leads
    left_out = set(rows)
    lines = chunk.leads.split(b"\n")[:-1]  # escaped values hold no raw line break
    kept = [
        line for number, line in zip(chunk.numbers, lines, strict=True) if number not in left_out
    ]
    return b"".join(line + b"\n" for line in kept)


def copy_text(value: object) -> str:
    if value is None:
        return _NULL
    return str(value).translate(_ESCAPES)


def _json_object(values: dict[str, str]) -> str:
    # NUL is the one character PostgreSQL text and JSONB cannot hold.
    items = (
        f"{_encode(k.replace(chr(0), ''))}: {_encode(v.replace(chr(0), ''))}"
        for k, v in values.items()
    )
    return "{" + ", ".join(items) + "}"


def lead_line(number: int, lead_id: str, key: str, lead: NormalizedLead) -> str:
    count = lead.employee_count
    parts = [
        key, lead.email, lead.first_name, lead.last_name, lead.title, lead.seniority,
        lead.department, lead.phone, lead.linkedin_url, lead.company_name, lead.company_domain,
        lead.industry, None if count is None else str(count), lead.city, lead.country,
        lead.timezone, lead.website, lead.provider_person_id,
        _json_object(lead.custom) if lead.custom else "{}",
    ]  # fmt: skip
    line = "\t".join([_NULL if part is None else part for part in parts])
    # Escaping every value costs more than checking the whole line once: values needing it are
    # rare (a backslash other than the NULL markers, a tab, a line break, a NUL).
    if (
        line.count("\\") != parts.count(None)
        or line.count("\t") != len(parts) - 1
        or "\n" in line
        or "\r" in line
        or "\x00" in line
    ):
        line = "\t".join([copy_text(part) for part in parts])
    return f"{number}\t{lead_id}\t{line}\n"


def _problem_line(
    import_id: str,
    number: int,
    line: int,
    reasons: list[Reason],
    headers: list[str],
    fields: list[str] | None,
) -> str:
    """A row of the rejections or warnings table, as COPY text: its reasons and values as read."""
    listed = [{"code": r.code, "field": r.field, "message": r.message} for r in reasons]
    raw = row_values(headers, fields) if fields is not None else {}
    return (
        f"{import_id}\t{number}\t{line}\t{copy_text(json.dumps(listed, ensure_ascii=False))}"
        f"\t{copy_text(_json_object(raw))}\n"
    )


def validate_chunk(
    rows: list[RawRecord],
    headers: list[str],
    mapping: dict[str, str | None],
    import_id: str,
    default_region: str | None = None,
) -> ChunkResult:
    # Imported here, in the worker: the importing process of a parallel import never needs
    # phonenumbers and email-validator in memory.
    from leadflood.imports.validation import NormalizedLead, Reason, RowPlan, dedupe_key

    plan = RowPlan(headers, mapping)
    ids = ordered_ids()
    result = ChunkResult(rows=len(rows))
    leads: list[str] = []
    rejections: list[str] = []
    warnings: list[str] = []
    domains: set[str] = set()
    outcome: NormalizedLead | list[Reason]
    for number, line, fields, problem in rows:
        result.last_number = number
        if problem is None and fields is not None:
            outcome = plan.judge(fields, default_region)
        else:  # a ragged or malformed row: its columns may be shifted
            assert problem is not None
            outcome = [Reason(problem.code, None, problem.message)]
        if isinstance(outcome, NormalizedLead):
            key = dedupe_key(outcome)
            if key is None:
                outcome = [Reason("missing_identity", None, "No identity.")]
            else:
                result.numbers.append(number)
                result.lines.append(line)
                result.digests.append(key_digest(key))
                leads.append(lead_line(number, next(ids), key, outcome))
                if outcome.email and not outcome.email.isascii():
                    result.ascii_emails = False
                if outcome.provider_person_id:
                    result.person_ids = True
                if outcome.company_domain:
                    domains.add(outcome.company_domain.lower())
                if outcome.warnings:
                    result.warned += 1
                    assert fields is not None
                    warnings.append(
                        _problem_line(import_id, number, line, outcome.warnings, headers, fields)
                    )
                continue
        result.rejected += 1
        rejections.append(_problem_line(import_id, number, line, outcome, headers, fields))
    result.leads = "".join(leads).encode()
    result.rejections = "".join(rejections).encode()
    result.warnings = "".join(warnings).encode()
    result.domains = sorted(domains)
    return result

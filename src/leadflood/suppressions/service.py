"""The suppression list: who must never be contacted, per workspace or for the whole instance.

Values are stored normalised (see `normalize`); every check compares normalised forms, and the
lead side is normalised in SQL the same way (lower-cased email and its domain, E.164 phone,
lower-cased LinkedIn URL without a trailing slash)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, or_, select, text
from sqlalchemy import delete as sql_delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import audit
from leadflood.auth.principal import CurrentMember
from leadflood.db.scope import in_workspace
from leadflood.errors import Forbidden, InvalidInput, NotFound
from leadflood.leads import identities
from leadflood.models import Suppression, SuppressionKind
from leadflood.pagination import Window, newest_first, page_of

REASONS = (
    "unsubscribed", "bounced", "complained", "do_not_contact", "manual", "imported", "erased",
)  # fmt: skip
MAX_IMPORT_ROWS = 100_000


class InvalidSuppression(InvalidInput):
    code = "invalid_suppression"
    message = "This value cannot be suppressed."


async def record_change(
    session: AsyncSession,
    by: CurrentMember,
    action: str,
    details: dict[str, Any],
    *,
    target_id: object = None,
) -> None:
    await audit.record(
        session,
        action,
        actor=by,
        target_type="suppression",
        target_id=target_id,
        details=details,
    )


def entry_details(row: Suppression) -> dict[str, Any]:
    return {
        "scope": "global" if row.workspace_id is None else "workspace",
        "kind": row.kind.value,
        "value": row.value,
        "reason": row.reason,
    }


def normalize(kind: str | SuppressionKind, value: str) -> str:
    """The stored form of `value` (`leads.identities`, the one normaliser of identities);
    raises InvalidSuppression when it is not a `kind`."""
    kind = _kind(kind)
    if not value.strip():
        raise InvalidSuppression(f"An empty {kind.value} cannot be suppressed.")
    if kind == SuppressionKind.person:
        raise InvalidSuppression("A provider's person id is only suppressed by an erasure.")
    key = {
        SuppressionKind.email: identities.email_key,
        SuppressionKind.domain: identities.domain_key,
        SuppressionKind.phone: identities.phone_key,
        SuppressionKind.linkedin: identities.linkedin_key,
    }[kind](value)
    if key is None:
        raise InvalidSuppression(NOT_A[kind].format(value=repr(value)))
    return key


NOT_A = {
    SuppressionKind.email: "{value} is not an email address.",
    SuppressionKind.domain: "{value} is not a domain.",
    SuppressionKind.phone: "{value} is not a phone number in international form (+country code).",
    SuppressionKind.linkedin: "{value} is not a LinkedIn profile URL.",
}


def _kind(kind: str | SuppressionKind) -> SuppressionKind:
    try:
        return SuppressionKind(kind)
    except ValueError:
        raise InvalidSuppression(
            f"Unknown kind {kind!r}; use email, domain, phone or linkedin."
        ) from None


def _candidates(
    email: str | None, phone: str | None, linkedin_url: str | None
) -> list[tuple[SuppressionKind, str]]:
    found: list[tuple[SuppressionKind, str]] = []
    for kind, value in (
        (SuppressionKind.email, email),
        (SuppressionKind.phone, phone),
        (SuppressionKind.linkedin, linkedin_url),
    ):
        if not value:
            continue
        try:
            found.append((kind, normalize(kind, value)))
        except InvalidSuppression:
            continue
    domain = identities.email_domain_key(email) if email else None
    if domain:
        found.append((SuppressionKind.domain, domain))
    # An erased person's entries hold digests of the same keys (`identities.identity_digest`).
    found += [
        (kind, identities.identity_digest(kind.value, key))
        for kind, key in found
        if kind != SuppressionKind.domain
    ]
    return found


def _in_scope(workspace_id: uuid.UUID | None) -> Any:
    if workspace_id is None:
        return Suppression.workspace_id.is_(None)
    return or_(in_workspace(Suppression, workspace_id), Suppression.workspace_id.is_(None))


async def reason_for(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    email: str | None = None,
    phone: str | None = None,
    linkedin_url: str | None = None,
) -> str | None:
    """Why this person must not be contacted (an email also matches its domain), or None."""
    pairs = _candidates(email, phone, linkedin_url)
    if not pairs:
        return None
    query = (
        select(Suppression.reason)
        .where(_in_scope(workspace_id))
        .where(or_(*(and_(Suppression.kind == k, Suppression.value == v) for k, v in pairs)))
        .limit(1)
    )
    reason: str | None = await session.scalar(query)
    return reason


async def suppressed_lead_ids(
    session: AsyncSession, workspace_id: uuid.UUID, lead_ids: list[uuid.UUID] | set[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """{lead id: reason} for the leads among `lead_ids` that are suppressed, in one query."""
    if not lead_ids:
        return {}
    rows = await session.execute(
        text(
            """
            WITH keys AS (
                SELECT l.id, k.kind, k.value
                FROM leads AS l
                CROSS JOIN LATERAL (VALUES
                    ('email', lower(btrim(l.email))),
                    ('domain', lower(rtrim(split_part(btrim(l.email), '@', 2), '.'))),
                    ('phone', l.phone),
                    ('linkedin', lower(rtrim(l.linkedin_url, '/'))),
                    ('person', lower(l.source) || ':' || btrim(l.provider_person_id))
                ) AS k(kind, value)
                WHERE l.workspace_id = :ws AND l.id = ANY(:ids) AND k.value <> ''
            ),
            -- An erased person's entries hold digests of the same keys (identity_digest).
            hashed AS (
                SELECT id, kind, value FROM keys WHERE kind <> 'person'
                UNION ALL
                SELECT id, kind, 'sha256:' || encode(sha256(convert_to(
                    :scheme || '|' || kind || '|' || value, 'UTF8')), 'hex')
                FROM keys WHERE kind <> 'domain'
            )
            SELECT DISTINCT ON (hashed.id) hashed.id, s.reason
            FROM hashed
            JOIN suppressions AS s
              ON s.kind = hashed.kind AND s.value = hashed.value
             AND (s.workspace_id = :ws OR s.workspace_id IS NULL)
            ORDER BY hashed.id, s.created_at
            """
        ),
        {"ws": workspace_id, "ids": list(lead_ids), "scheme": identities.ERASURE_SCHEME},
    )
    return {row[0]: row[1] for row in rows}


async def suppressed_emails(
    session: AsyncSession, workspace_id: uuid.UUID, emails: list[str]
) -> dict[str, str]:
    """{email as given: reason} for the suppressed ones (by address or domain), in one query."""
    wanted: dict[tuple[str, str], list[str]] = {}
    for email in emails:
        for kind, value in _candidates(email, None, None):
            wanted.setdefault((kind.value, value), []).append(email)
    if not wanted:
        return {}
    # Two arrays, not an IN list of pairs: the statement's text stays the same whatever the
    # number of addresses, so it is compiled and planned once (a claim asks for hundreds).
    rows = await session.execute(
        text(
            """
            SELECT s.kind, s.value, s.reason
            FROM unnest(CAST(:kinds AS text[]), CAST(:values AS text[])) AS w(kind, value)
            JOIN suppressions AS s ON s.kind = w.kind AND s.value = w.value
            WHERE s.workspace_id = :ws OR s.workspace_id IS NULL
            """
        ),
        {
            "ws": workspace_id,
            "kinds": [kind for kind, _ in wanted],
            "values": [value for _, value in wanted],
        },
    )
    found: dict[str, str] = {}
    for kind, value, reason in rows:
        for email in wanted.get((kind, value), []):
            found.setdefault(email, reason)
    return found


async def add(
    session: AsyncSession,
    workspace_id: uuid.UUID | None,
    kind: str | SuppressionKind,
    value: str,
    reason: str,
    source: str | None,
    *,
    note: str = "",
    by: CurrentMember | None = None,
) -> Suppression:
    """Suppress `value` (normalised). Idempotent: an existing entry is kept as it is (its first
    reason and date stay), and returned. `by` (a person's action) writes an audit event."""
    row, created = await _insert(session, workspace_id, kind, value, reason, source, note=note)
    if by is not None:
        details = entry_details(row) | {"source": row.source, "already_listed": not created}
        await record_change(session, by, "suppression.added", details, target_id=row.id)
    return row


async def add_many(
    session: AsyncSession,
    workspace_id: uuid.UUID | None,
    kind: str | SuppressionKind,
    entries: Sequence[tuple[str, str]],
    source: str | None,
) -> int:
    """`add` for many (value, reason) pairs of one kind, in one statement, without an audit
    event (for set-based callers); how many were new. An entry listed already keeps its first
    reason and date, and so does the first of two equal values."""
    kind = _kind(kind)
    rows = [_row(workspace_id, kind, value, reason, source) for value, reason in entries]
    if not rows:
        return 0
    inserted = await session.scalars(
        _on_conflict(insert(Suppression).values(rows), workspace_id).returning(Suppression.id)
    )
    return len(inserted.all())


def _row(
    workspace_id: uuid.UUID | None,
    kind: SuppressionKind,
    value: str,
    reason: str,
    source: str | None,
    note: str = "",
) -> dict[str, Any]:
    if reason not in REASONS:
        raise InvalidSuppression(f"Unknown reason {reason!r}; use one of {', '.join(REASONS)}.")
    return {
        "id": uuid.uuid4(),
        "workspace_id": workspace_id,
        "kind": kind,
        "value": normalize(kind, value),
        "reason": reason,
        "source": (source or None) and source[:80],
        "note": note,
    }


def _on_conflict(statement: Any, workspace_id: uuid.UUID | None) -> Any:
    """An entry listed already stays as it is."""
    if workspace_id is None:
        return statement.on_conflict_do_nothing(
            index_elements=["kind", "value"], index_where=text("workspace_id IS NULL")
        )
    return statement.on_conflict_do_nothing(
        index_elements=["workspace_id", "kind", "value"],
        index_where=text("workspace_id IS NOT NULL"),
    )


async def _insert(
    session: AsyncSession,
    workspace_id: uuid.UUID | None,
    kind: str | SuppressionKind,
    value: str,
    reason: str,
    source: str | None,
    *,
    note: str = "",
) -> tuple[Suppression, bool]:
    kind = _kind(kind)
    row = _row(workspace_id, kind, value, reason, source, note)
    normalized = row["value"]
    statement = _on_conflict(insert(Suppression).values(**row), workspace_id)
    inserted = await session.scalar(statement.returning(Suppression.id))
    row = await session.scalar(
        select(Suppression).where(
            Suppression.workspace_id.is_(None)
            if workspace_id is None
            else in_workspace(Suppression, workspace_id),
            Suppression.kind == kind,
            Suppression.value == normalized,
        )
    )
    assert row is not None
    return row, inserted is not None


@dataclass
class ImportReport:
    added: int = 0
    existing: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)


def guess_kind(value: str) -> SuppressionKind:
    lowered = value.lower()
    if "linkedin.com" in lowered:
        return SuppressionKind.linkedin
    if "@" in value.strip().lstrip("@"):
        return SuppressionKind.email
    if value.strip().startswith("+") or value.strip().replace(" ", "").isdigit():
        return SuppressionKind.phone
    return SuppressionKind.domain


async def import_csv(
    session: AsyncSession,
    workspace_id: uuid.UUID | None,
    content: bytes | str,
    *,
    reason: str = "imported",
    source: str = "csv",
    by: CurrentMember | None = None,
) -> ImportReport:
    """Import a CSV: a `value` column (or the first column) and an optional `kind` column; the
    kind is guessed from the value when absent. Bad rows are reported, never half-imported.
    `by` writes one audit event for the whole import, with its counts."""
    text_content = content.decode("utf-8-sig", "replace") if isinstance(content, bytes) else content
    rows = list(csv.reader(io.StringIO(text_content)))
    if not rows:
        return ImportReport()
    header = [h.strip().lower() for h in rows[0]]
    has_header = bool({"value", "email", "kind"} & set(header))
    value_col = 0
    kind_col: int | None = None
    if has_header:
        for name in ("value", "email", "domain", "phone", "linkedin_url"):
            if name in header:
                value_col = header.index(name)
                break
        kind_col = header.index("kind") if "kind" in header else None
        rows = rows[1:]
    if len(rows) > MAX_IMPORT_ROWS:
        raise InvalidSuppression(f"At most {MAX_IMPORT_ROWS} rows per import.")
    report = ImportReport()
    for line, row in enumerate(rows, start=2 if has_header else 1):
        value = row[value_col].strip() if len(row) > value_col else ""
        if not value:
            continue
        raw_kind = row[kind_col].strip() if kind_col is not None and len(row) > kind_col else ""
        try:
            kind = _kind(raw_kind) if raw_kind else guess_kind(value)
            normalized = normalize(kind, value)
        except InvalidSuppression as exc:
            report.rejected.append({"line": str(line), "value": value, "error": exc.message})
            continue
        _, created = await _insert(session, workspace_id, kind, normalized, reason, source)
        if created:
            report.added += 1
        else:
            report.existing += 1
    if by is not None:
        await record_change(
            session,
            by,
            "suppression.imported",
            {
                "scope": "global" if workspace_id is None else "workspace",
                "reason": reason,
                "source": source[:80],
                "added": report.added,
                "existing": report.existing,
                "rejected": len(report.rejected),
            },
        )
    return report


__all__ = [
    "REASONS",
    "ImportReport",
    "InvalidSuppression",
    "add",
    "add_many",
    "import_csv",
    "normalize",
    "reason_for",
    "record_change",
    "suppressed_emails",
    "suppressed_lead_ids",
]


class SuppressionNotFound(NotFound):
    code = "suppression_not_found"
    message = "Suppression not found."


class GlobalSuppressionForbidden(Forbidden):
    code = "global_suppression_forbidden"
    message = (
        "Instance-wide suppressions need the owner role and ALLOW_GLOBAL_SUPPRESSIONS=true "
        "(or the command line on the server)."
    )


def _visible(workspace_id: uuid.UUID) -> object:
    return or_(in_workspace(Suppression, workspace_id), Suppression.workspace_id.is_(None))


async def list_suppressions(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    limit: int,
    cursor: str | None = None,
    kind: SuppressionKind | None = None,
    search: str | None = None,
) -> Window[Suppression]:
    """This workspace's entries and the instance-wide ones."""
    query = select(Suppression).where(_visible(workspace_id))  # type: ignore[arg-type]
    if kind is not None:
        query = query.where(Suppression.kind == kind)
    if search:
        # An erased person is found by typing one of their identities in full.
        hashed = [
            value
            for _, value in _candidates(search, search, search)
            if value.startswith(identities.DIGEST_PREFIX)
        ]
        query = query.where(
            or_(Suppression.value.contains(search.strip().lower()), Suppression.value.in_(hashed))
        )
    query = newest_first(query, Suppression.created_at, Suppression.id, cursor=cursor, limit=limit)
    rows = list(await session.scalars(query))
    return page_of(rows, limit, cursor)


async def delete_suppression(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    suppression_id: uuid.UUID,
    *,
    may_global: bool,
    by: CurrentMember,
) -> None:
    """Only people remove entries, so every removal is in the audit log."""
    row = await session.scalar(
        select(Suppression).where(Suppression.id == suppression_id, _visible(workspace_id))  # type: ignore[arg-type]
    )
    if row is None:
        raise SuppressionNotFound()
    if row.workspace_id is None and not may_global:
        raise GlobalSuppressionForbidden()
    details = entry_details(row) | {"source": row.source}
    await session.execute(sql_delete(Suppression).where(Suppression.id == row.id))
    await record_change(session, by, "suppression.removed", details, target_id=row.id)

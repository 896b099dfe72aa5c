"""Removing people: deleting leads, and erasing a person on a data-subject request.

Both stop outreach first (`stops.stop_person`: every enrollment stops, every queued message is
cancelled), then delete the lead row. What must outlive a lead stays without it (SET NULL):
its messages (the sending history and analytics), enrichment runs and verifications (the
credits spent), search results (a run's counts).

An erasure also removes the person's data from everything that kept a copy, and keeps their
identities (email, phone, LinkedIn profile, provider person id) only as one-way digests in the
suppression list (`leads.identities.identity_digest`), so that imports, searches, new leads and
every send refuse them from then on. The lead row is deleted rather than blanked: a blank lead
would still show in lists, counts and exports as an empty person, and nothing needs it, since
the rows that must outlive it already do without it. Plain suppression entries of the person
(an unsubscribe, a bounce) become digests with the same reason and scope.

Each place that holds personal data is one `Scrubber` in `SCRUBBERS`: a table added later
(inbound items, say) is one more function in that list."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, case, delete, func, null, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import audit
from leadflood.auth.principal import CurrentMember
from leadflood.db.scope import get_scoped, in_workspace
from leadflood.leads import bulk, identities
from leadflood.leads.schemas import BulkRequest
from leadflood.leads.service import LeadNotFound
from leadflood.models import (
    BulkAction,
    BulkOperation,
    DeliveryAttempt,
    EnrichmentCache,
    EnrichmentRun,
    InboundItem,
    Lead,
    Message,
    SearchResult,
    SearchRun,
    Suppression,
    SuppressionKind,
    Thread,
    UnsubscribeToken,
    Verification,
)
from leadflood.suppressions import stops

DELETED = "lead deleted"
ERASED = "erased"


@dataclass
class Person:
    """What an erasure knows of the person: their lead and identities, before they go."""

    workspace_id: uuid.UUID
    lead_id: uuid.UUID
    emails: list[str]  # lower-cased
    keys: list[tuple[str, str]]  # (kind, matching key), as `identities.identity_keys` gives
    source: str
    person_id: str | None
    counts: dict[str, int] = field(default_factory=dict)

    def values(self) -> list[str]:
        """Every identity as a cell of a file would hold it (lower-cased)."""
        return sorted({*self.emails, *(key.lower() for kind, key in self.keys if kind != "person")})


Scrubber = Callable[[AsyncSession, Person], Awaitable[int]]


async def _messages(session: AsyncSession, person: Person) -> int:
    """Messages keep their place in the history (status, dates, mailbox, step) without what
    they said or to whom; their delivery attempts keep codes, not the server's text (which
    quotes the address)."""
    mine: list[ColumnElement[bool]] = [Message.lead_id == person.lead_id]
    if person.emails:
        mine += [
            func.lower(Message.to_address).in_(person.emails),
            func.lower(Message.from_address).in_(person.emails),
        ]
    result = await session.execute(
        update(Message)
        .where(in_workspace(Message, person.workspace_id), or_(*mine))
        .values(
            to_address="",
            delivered_to=None,
            from_address=None,
            subject="",
            body_text="",
            body_html=None,
            headers={},
            error=None,
            # What the rules made of it stays (kind, label, version); their evidence quotes it.
            classification=case(
                (Message.classification.is_(None), None),
                else_=func.jsonb_build_object(
                    "kind",
                    Message.classification["kind"],
                    "label",
                    Message.classification["label"],
                    "bounce_type",
                    Message.classification["bounce_type"],
                    "version",
                    Message.classification["version"],
                ),
            ),
        )
        .returning(Message.id)
        .execution_options(synchronize_session=False)
    )
    ids = list(result.scalars())
    if ids:
        await session.execute(
            update(DeliveryAttempt)
            .where(DeliveryAttempt.message_id.in_(ids))
            .values(text=None)
            .execution_options(synchronize_session=False)
        )
    return len(ids)


async def _unsubscribe_tokens(session: AsyncSession, person: Person) -> int:
    mine: list[ColumnElement[bool]] = [UnsubscribeToken.lead_id == person.lead_id]
    if person.emails:
        mine.append(func.lower(UnsubscribeToken.email).in_(person.emails))
    result = await session.execute(
        delete(UnsubscribeToken).where(
            UnsubscribeToken.workspace_id == person.workspace_id, or_(*mine)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def _enrichment(session: AsyncSession, person: Person) -> int:
    """Providers' answers go; the runs stay (credits spent) without their error text."""
    cached = await session.execute(
        delete(EnrichmentCache).where(
            in_workspace(EnrichmentCache, person.workspace_id),
            EnrichmentCache.lead_id == person.lead_id,
        )
    )
    await session.execute(
        update(EnrichmentRun)
        .where(
            in_workspace(EnrichmentRun, person.workspace_id),
            EnrichmentRun.lead_id == person.lead_id,
        )
        .values(error=None)
        .execution_options(synchronize_session=False)
    )
    mine: list[ColumnElement[bool]] = [Verification.lead_id == person.lead_id]
    if person.emails:
        mine.append(func.lower(Verification.email).in_(person.emails))
    checks = await session.execute(
        update(Verification)
        .where(in_workspace(Verification, person.workspace_id), or_(*mine))
        .values(email="", evidence={}, error=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(cached, "rowcount", 0) or 0) + int(getattr(checks, "rowcount", 0) or 0)


async def _search_results(session: AsyncSession, person: Person) -> int:
    """A provider's payload about the person; the runs keep their counts."""
    mine: list[ColumnElement[bool]] = [SearchResult.lead_id == person.lead_id]
    if person.person_id:
        runs = select(SearchRun.id).where(
            in_workspace(SearchRun, person.workspace_id), SearchRun.source == person.source
        )
        mine.append((SearchResult.source_id == person.person_id) & SearchResult.run_id.in_(runs))
    result = await session.execute(
        delete(SearchResult).where(in_workspace(SearchResult, person.workspace_id), or_(*mine))
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def _import_rejections(session: AsyncSession, person: Person) -> int:
    """Rows of earlier imports that did not become leads but hold one of the identities."""
    values = person.values()
    if not values:
        return 0
    result = await session.execute(
        text(
            """
            DELETE FROM lead_import_rejections AS r USING lead_imports AS i
            WHERE r.import_id = i.id AND i.workspace_id = :ws
              AND EXISTS (SELECT 1 FROM jsonb_each_text(r.raw) AS cell
                          WHERE lower(btrim(cell.value)) = ANY(:values))
            """
        ),
        {"ws": person.workspace_id, "values": values},
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def _inbound(session: AsyncSession, person: Person) -> int:
    """What came in from or about the person: the raw items of their inbound messages are
    erased (the append-only store allows exactly that: raw and payload set to NULL with the
    time), and their conversations lose their subject."""
    mine: list[ColumnElement[bool]] = [Message.lead_id == person.lead_id]
    if person.emails:
        mine.append(func.lower(Message.from_address).in_(person.emails))
    items = select(Message.inbound_item_id).where(
        in_workspace(Message, person.workspace_id),
        Message.inbound_item_id.is_not(None),
        or_(*mine),
    )
    erased = await session.execute(
        update(InboundItem)
        .where(
            in_workspace(InboundItem, person.workspace_id),
            InboundItem.id.in_(items),
            InboundItem.erased_at.is_(None),
        )
        .values(raw=None, payload=null(), erased_at=func.now())
        .returning(InboundItem.id)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Thread)
        .where(in_workspace(Thread, person.workspace_id), Thread.lead_id == person.lead_id)
        .values(subject="")
        .execution_options(synchronize_session=False)
    )
    return len(erased.all())


# Every table holding a person's data beyond the lead row (which is deleted last). Inbound
# items first: they are found through the messages, which the next one blanks.
SCRUBBERS: dict[str, Scrubber] = {
    "inbound_items": _inbound,
    "messages": _messages,
    "unsubscribe_tokens": _unsubscribe_tokens,
    "enrichment": _enrichment,
    "search_results": _search_results,
    "import_rejections": _import_rejections,
}


async def _hash_suppressions(session: AsyncSession, person: Person) -> list[str]:
    """The person's identities become digests: this workspace's entry (reason "erased"), and
    each plain entry of theirs, here or instance-wide, is replaced by its digest (same scope,
    same reason). Returns the kinds recorded."""
    plain = [(SuppressionKind(kind), key) for kind, key in person.keys if kind != "person"]
    kept: list[tuple[uuid.UUID | None, SuppressionKind, str, str, str | None]] = []
    if plain:
        removed = await session.execute(
            delete(Suppression)
            .where(
                or_(
                    in_workspace(Suppression, person.workspace_id),
                    Suppression.workspace_id.is_(None),
                ),
                or_(*((Suppression.kind == k) & (Suppression.value == v) for k, v in plain)),
            )
            .returning(
                Suppression.workspace_id,
                Suppression.kind,
                Suppression.value,
                Suppression.reason,
                Suppression.source,
            )
        )
        kept = [tuple(row) for row in removed]  # type: ignore[misc]
    rows: list[dict[str, Any]] = [
        _digest_row(person.workspace_id, SuppressionKind(kind), key, ERASED, "erasure")
        for kind, key in person.keys
    ]
    rows += [
        _digest_row(scope, kind, value, reason, source)
        for scope, kind, value, reason, source in kept
    ]
    for row in rows:
        statement = insert(Suppression).values(**row)
        if row["workspace_id"] is None:
            statement = statement.on_conflict_do_nothing(
                index_elements=["kind", "value"], index_where=text("workspace_id IS NULL")
            )
        else:
            statement = statement.on_conflict_do_nothing(
                index_elements=["workspace_id", "kind", "value"],
                index_where=text("workspace_id IS NOT NULL"),
            )
        await session.execute(statement)
    return sorted({kind for kind, _ in person.keys})


def _digest_row(
    workspace_id: uuid.UUID | None,
    kind: SuppressionKind,
    key: str,
    reason: str,
    source: str | None,
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "workspace_id": workspace_id,
        "kind": kind,
        "value": identities.identity_digest(kind.value, key),
        "reason": reason,
        "source": source,
        "note": "",
    }


async def erase_person(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    lead_id: uuid.UUID,
    actor: CurrentMember | None,
) -> dict[str, Any]:
    """Erase the lead's person: outreach stopped, their data removed everywhere it was kept
    (`SCRUBBERS`), the lead deleted, their identities kept only as digests in the suppression
    list. Audited without any of the erased values. Returns what was done (counts and the kinds
    of identity recorded)."""
    lead = await get_scoped(
        session, Lead, workspace_id, lead_id, error=LeadNotFound, for_update=True
    )
    keys = identities.identity_keys(
        email=lead.email,
        phone=lead.phone,
        linkedin_url=lead.linkedin_url,
        source=lead.source if lead.provider_person_id else None,
        person_id=lead.provider_person_id,
    )
    person = Person(
        workspace_id=workspace_id,
        lead_id=lead.id,
        emails=[key for kind, key in keys if kind == "email"],
        keys=keys,
        source=lead.source,
        person_id=lead.provider_person_id,
    )
    stopped, cancelled = await stops.stop_person(
        session, workspace_id, reason=ERASED, lead_ids=[lead.id], emails=person.emails
    )
    for name, scrub in SCRUBBERS.items():
        person.counts[name] = await scrub(session, person)
    kinds = await _hash_suppressions(session, person)
    await session.execute(delete(Lead).where(in_workspace(Lead, workspace_id), Lead.id == lead.id))
    session.expunge(lead)
    report = {
        "lead_id": str(lead_id),
        "identities_hashed": kinds,
        "enrollments_stopped": stopped,
        "messages_cancelled": cancelled,
        "scrubbed": person.counts,
    }
    await audit.record(
        session,
        "lead.erased",
        actor=actor,
        workspace_id=workspace_id,
        target_type="lead",
        target_id=lead_id,
        details={k: v for k, v in report.items() if k != "lead_id"},
    )
    return report


async def delete_leads(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    lead_ids: list[uuid.UUID],
    *,
    by: CurrentMember | None = None,
) -> int:
    """Delete these leads of the workspace (ids of others are ignored): their outreach stops
    first. Returns how many were deleted. `by` (a person's action on one lead) is audited per
    lead; a bulk deletion is audited once, when it starts."""
    found = list(
        (
            await session.scalars(
                select(Lead.id).where(in_workspace(Lead, workspace_id), Lead.id.in_(lead_ids))
            )
        ).all()
    )
    if not found:
        return 0
    stopped, cancelled = await stops.stop_person(
        session, workspace_id, reason=DELETED, lead_ids=found
    )
    await session.execute(
        delete(Lead)
        .where(in_workspace(Lead, workspace_id), Lead.id.in_(found))
        .execution_options(synchronize_session="fetch")
    )
    if by is not None:
        for lead_id in found:
            await audit.record(
                session,
                "lead.deleted",
                actor=by,
                target_type="lead",
                target_id=lead_id,
                details={"enrollments_stopped": stopped, "messages_cancelled": cancelled},
            )
    return len(found)


async def delete_lead(
    session: AsyncSession, workspace_id: uuid.UUID, lead_id: uuid.UUID, *, by: CurrentMember | None
) -> None:
    if not await delete_leads(session, workspace_id, [lead_id], by=by):
        raise LeadNotFound()


async def start_bulk_delete(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    request: BulkRequest,
    *,
    by: CurrentMember,
) -> tuple[BulkOperation, int]:
    """Delete a selection in the background (chunks of `bulk.CHUNK_SIZE` leads, each in its own
    transaction); audited once, with the selection and how many leads it held."""
    total = await bulk.count_selected(session, workspace_id, request)
    operation = await bulk.start(
        session, workspace_id, BulkAction.delete, request,
        user_id=by.user.id if by.user else None,
    )  # fmt: skip
    await record_bulk_delete(session, by, request, total, operation_id=operation.id)
    return operation, total


async def record_bulk_delete(
    session: AsyncSession,
    by: CurrentMember,
    request: BulkRequest,
    total: int,
    *,
    operation_id: uuid.UUID | None,
) -> None:
    await audit.record(
        session,
        "leads.bulk_delete",
        actor=by,
        target_type="bulk_operation" if operation_id else "workspace",
        target_id=operation_id or by.workspace_id,
        details={"selection": request.model_dump(mode="json", exclude_none=True), "count": total},
    )


async def delete_chunk(
    session: AsyncSession, operation_id: uuid.UUID, lead_ids: list[uuid.UUID]
) -> None:
    """One chunk of a bulk deletion, counted on its operation (leads already gone count as
    done: deleting is idempotent)."""
    operation = await bulk.get_unscoped(session, operation_id)
    if operation is None:
        return
    await delete_leads(session, operation.workspace_id, lead_ids)
    await bulk.progress(session, operation_id, done=len(lead_ids))

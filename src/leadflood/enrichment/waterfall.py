"""The enrichment waterfall: the workspace's enrichers in order, each asked only while a wanted
field is still empty, each answer cached per (lead, provider) so asking again costs nothing,
and every call recorded as an EnrichmentRun with the fields it filled and its cost."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import credentials
from leadflood.db.scope import in_workspace
from leadflood.enrichment import config as enrichment_settings
from leadflood.enrichment import credits
from leadflood.leads.fields import fillable, is_filled
from leadflood.models import EnrichmentCache, EnrichmentRun, Lead, LeadStatus
from leadflood.providers.base import (
    Enricher,
    EnrichmentInput,
    EnrichmentResult,
    ProviderError,
    TemporaryProviderError,
)
from leadflood.providers.registry import ProviderRegistry
from leadflood.system import breakers


@dataclass
class Outcome:
    """What one pass of the waterfall did. `retry` is a temporary failure worth another
    attempt; `error` the permanent failure when no provider answered at all; `budget` set when
    spending stopped because the monthly budget is used up."""

    lead: Lead | None
    runs: list[uuid.UUID] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    answered: bool = False
    skipped: bool = False
    retry: TemporaryProviderError | None = None
    error: Exception | None = None
    budget: credits.CreditBudgetExhausted | None = None


class Unavailable:
    """Stands in the waterfall for an enricher that cannot run (no key): asking it records
    why, at no cost, and the waterfall goes on."""

    max_cost = 0

    def __init__(self, name: str, error: ProviderError) -> None:
        self.name = name
        self.error = error

    async def enrich(self, person: EnrichmentInput) -> EnrichmentResult:
        raise self.error


async def waterfall_of(
    session: AsyncSession,
    registry: ProviderRegistry,
    workspace_id: uuid.UUID,
    names: Sequence[str],
) -> list[Enricher]:
    """The workspace's enrichers in order, each with the workspace's own key (else the
    process-wide one); one that cannot run stands in as Unavailable."""
    chain: list[Enricher] = []
    for name in names:
        try:
            key = await credentials.provider_key(session, registry, workspace_id, name)
            chain.append(registry.enricher(name, api_key=key))
        except ProviderError as exc:
            chain.append(Unavailable(name, exc))
    return chain


def person_of(lead: Lead) -> EnrichmentInput:
    return EnrichmentInput(
        email=lead.email,
        first_name=lead.first_name,
        last_name=lead.last_name,
        company_name=lead.company_name,
        company_domain=lead.company_domain,
        linkedin_url=lead.linkedin_url,
        person_ids={lead.source: lead.provider_person_id} if lead.provider_person_id else {},
    )


EMAIL_IN_USE = "email_in_use"


async def _email_taken(session: AsyncSession, lead: Lead, email: str) -> bool:
    other = await session.scalar(
        select(Lead.id)
        .where(
            in_workspace(Lead, lead.workspace_id),
            func.lower(Lead.email) == email.lower(),
            Lead.id != lead.id,
        )
        .limit(1)
    )
    return other is not None


async def fill(
    session: AsyncSession, lead: Lead, fields: dict[str, Any]
) -> tuple[list[str], str | None]:
    """Fill the lead's empty columns from a provider's answer; returns the columns filled and,
    when the email found already belongs to another lead of the workspace, why it was left out
    (one person, one lead: the two are not merged behind the user's back)."""
    changes = fillable(lead, fields)
    email = changes.pop("email", None)
    for name, value in changes.items():
        setattr(lead, name, value)
    filled = list(changes)
    if email is None:
        return filled, None
    refused = f"{email} already belongs to another lead in this workspace; it was not copied"
    if await _email_taken(session, lead, email):
        return filled, refused
    await session.flush()  # the other fields first: a refused email rolls back only itself
    try:
        async with session.begin_nested():
            lead.email = email
            await session.flush()
    except IntegrityError:
        # Another lead took the address between the check and the write.
        await session.refresh(lead)
        return filled, refused
    return ["email", *filled], None


async def _cached(session: AsyncSession, lead: Lead, provider: str) -> EnrichmentCache | None:
    return await session.scalar(
        select(EnrichmentCache).where(
            in_workspace(EnrichmentCache, lead.workspace_id),
            EnrichmentCache.lead_id == lead.id,
            EnrichmentCache.provider == provider,
        )
    )


async def _store_cache(session: AsyncSession, lead: Lead, result: EnrichmentResult) -> None:
    now = datetime.now(UTC)
    payload = {"found": result.found, "fields": result.fields, "cost": result.cost}
    statement = insert(EnrichmentCache).values(
        id=uuid.uuid4(),
        workspace_id=lead.workspace_id,
        lead_id=lead.id,
        provider=result.provider,
        found=result.found,
        result=payload,
        fetched_at=now,
    )
    async with credits.own_transaction(session) as own:
        await own.execute(
            statement.on_conflict_do_update(
                constraint="uq_enrichment_cache_workspace_lead",
                set_={"found": result.found, "result": payload, "fetched_at": now},
            )
        )


async def _replay(session: AsyncSession, lead: Lead, hit: EnrichmentCache) -> EnrichmentRun:
    fields: dict[str, Any] = dict(hit.result.get("fields") or {})
    changed, refused = await fill(session, lead, fields)
    run = EnrichmentRun(
        workspace_id=lead.workspace_id,
        lead_id=lead.id,
        provider=hit.provider,
        found=hit.found,
        cached=True,
        fields_changed=changed,
        cost=Decimal(0),
        error=refused,
        error_code=EMAIL_IN_USE if refused else None,
        settled_at=datetime.now(UTC),
    )
    session.add(run)
    return run


async def _ask(
    session: AsyncSession, lead: Lead, enricher: Enricher, outcome: Outcome
) -> list[str] | None:
    """One paid-or-free provider call: reserve, call, settle. None when the provider failed.
    A provider whose breaker is open for the workspace is skipped at once, as a temporary
    failure (the job retries after the cool-down); no run is recorded, nothing is reserved."""
    bind = breakers.bind_of(session)
    try:
        gate = await breakers.enter(
            bind,
            enricher.name,
            str(lead.workspace_id),
            breakers.Policy.of(session.info["settings"]),
        )
    except breakers.BreakerOpen as exc:
        outcome.retry = outcome.retry or exc
        return None
    reservation = EnrichmentRun(
        workspace_id=lead.workspace_id,
        lead_id=lead.id,
        provider=enricher.name,
        found=False,
        fields_changed=[],
    )
    try:
        run_id = await credits.reserve_committed(session, reservation, credits.price_of(enricher))
    except credits.CreditBudgetExhausted as exc:
        outcome.budget = exc
        refused = EnrichmentRun(
            workspace_id=lead.workspace_id,
            lead_id=lead.id,
            provider=enricher.name,
            found=False,
            fields_changed=[],
            error=exc.message,
            error_code=exc.code,
            settled_at=datetime.now(UTC),
        )
        outcome.runs.append(await credits.reserve_committed(session, refused, Decimal(0)))
        return None
    outcome.runs.append(run_id)
    try:
        result = await enricher.enrich(person_of(lead))
    except ProviderError as exc:
        await gate.failure(bind, exc)
        await credits.settle_committed(
            session,
            EnrichmentRun,
            run_id,
            cost=Decimal(0),
            error=str(exc),
            error_code=exc.code or ("temporary" if exc.temporary else "permanent"),
            settled_at=datetime.now(UTC),
        )
        if isinstance(exc, TemporaryProviderError):
            outcome.retry = outcome.retry or exc
        else:
            outcome.error = outcome.error or exc
        return None
    await gate.success(bind)
    changed, not_copied = await fill(session, lead, result.fields)
    await credits.settle_committed(
        session,
        EnrichmentRun,
        run_id,
        found=result.found,
        fields_changed=changed,
        cost=Decimal(str(result.cost)),
        error=not_copied,
        error_code=EMAIL_IN_USE if not_copied else None,
        settled_at=datetime.now(UTC),
    )
    await _store_cache(session, lead, result)
    return changed


async def enrich_lead(
    session: AsyncSession,
    lead_id: uuid.UUID,
    enrichers: Sequence[Enricher],
    *,
    wanted: Sequence[str] | None = None,
    force: bool = False,
) -> Outcome:
    """Run the waterfall for one lead; provider failures are recorded, never raised.

    Without `force` an enriched lead is left as it is (a repeated job changes nothing); with it
    the waterfall runs again for the wanted fields still empty, reading the cache first.
    `wanted` defaults to the workspace's wanted fields.
    """
    # NO KEY UPDATE: the runs written in their own transactions reference this row.
    lead = await session.get(Lead, lead_id, with_for_update={"key_share": True})
    outcome = Outcome(lead)
    if lead is None or (lead.status == LeadStatus.enriched and not force):
        outcome.skipped = True
        return outcome
    if wanted is None:
        wanted = (await enrichment_settings.load(session, lead.workspace_id)).wanted_fields
    for enricher in enrichers:
        if is_filled(lead, wanted):
            break
        hit = await _cached(session, lead, enricher.name)
        if hit is not None:
            run = await _replay(session, lead, hit)
            outcome.changed += run.fields_changed
            outcome.answered = True
            continue
        changed = await _ask(session, lead, enricher, outcome)
        if outcome.budget is not None:
            break
        if changed is not None:
            outcome.changed += changed
            outcome.answered = True
    # A lead that already has every wanted field (a search filled them) is complete: it counts
    # as enriched, though no provider had to be asked.
    if outcome.answered or (is_filled(lead, wanted) and outcome.budget is None):
        lead.status = LeadStatus.enriched
        lead.error = None
        lead.enriched_at = datetime.now(UTC)
    elif outcome.error is not None and outcome.retry is None and outcome.budget is None:
        lead.status = LeadStatus.failed
        lead.error = str(outcome.error)
    await session.flush()
    return outcome


def failure_of(outcome: Outcome) -> Exception | None:
    """The error a job should end with: the budget first (no retry can help), then a
    temporary failure (worth retrying), then a permanent one when nobody answered."""
    if outcome.budget is not None and not outcome.answered:
        return outcome.budget
    if outcome.retry is not None and not outcome.answered:
        return outcome.retry
    if outcome.error is not None and not outcome.answered:
        return outcome.error
    return None

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import jobs
from leadflood.enrichment import config as enrichment_settings
from leadflood.enrichment import credits
from leadflood.enrichment import waterfall as enrichment
from leadflood.enrichment.verification import VERIFY_TASK, verify_lead
from leadflood.leads import bulk, queries, scoring
from leadflood.leads import service as leads
from leadflood.models import BulkAction, Lead
from leadflood.providers.base import TemporaryProviderError
from leadflood.runtime import Runtime

RETRY_ON = (TemporaryProviderError, OSError)


async def _lead_failed(
    session: AsyncSession, error: Exception, *, lead_id: str, operation_id: str | None = None,
    **_: Any,
) -> None:  # fmt: skip
    # A used-up budget leaves the lead as it is: the refusal is recorded as an enrichment run.
    if not isinstance(error, credits.CreditBudgetExhausted):
        await leads.mark_failed(session, uuid.UUID(lead_id), str(error))
    if operation_id:
        await bulk.progress(session, uuid.UUID(operation_id), failed=1)
        await bulk.note_error(session, uuid.UUID(operation_id), str(error))


async def _enrich_one(
    session: AsyncSession, runtime: Runtime, lead_id: uuid.UUID, *, force: bool
) -> enrichment.Outcome:
    lead = await session.get(Lead, lead_id)
    if lead is None:
        return enrichment.Outcome(None, skipped=True)
    config = await enrichment_settings.load(session, lead.workspace_id)
    chain = await enrichment.waterfall_of(
        session, runtime.providers, lead.workspace_id, config.waterfall
    )
    outcome = await enrichment.enrich_lead(
        session, lead_id, chain, wanted=config.wanted_fields, force=force
    )
    if outcome.changed:
        await scoring.rescore_leads(session, lead.workspace_id, [lead_id])
    return outcome


@jobs.task(
    leads.ENRICH_TASK,
    retry=jobs.backoff(attempts=3, base=2, retry_on=RETRY_ON),
    on_final_failure=_lead_failed,
)
async def enrich(
    session: AsyncSession,
    runtime: Runtime,
    *,
    lead_id: str,
    force: bool = False,
    operation_id: str | None = None,
) -> None:
    outcome = await _enrich_one(session, runtime, uuid.UUID(lead_id), force=force)
    error = enrichment.failure_of(outcome)
    if error is None and operation_id:
        await bulk.progress(session, uuid.UUID(operation_id), done=1)
    # The runs, the cache and the lead's status are kept even when the job then fails.
    await session.commit()
    if error is not None:
        raise error


async def _verify_failed(
    session: AsyncSession, error: Exception, *, lead_id: str, operation_id: str | None = None
) -> None:
    if operation_id:
        await bulk.progress(session, uuid.UUID(operation_id), failed=1)
        await bulk.note_error(session, uuid.UUID(operation_id), str(error))


NO_EMAIL = "Some leads have no email to verify: enrich them first to find one."


async def _verify_one(session: AsyncSession, runtime: Runtime, lead_id: uuid.UUID) -> str | None:
    """Verify one lead; None when it was checked, else why not (for the bulk operation)."""
    checked = await verify_lead(
        session, runtime.providers, lead_id, timeout=runtime.settings.verify_mx_timeout
    )
    lead = checked.lead
    if checked.verification is not None and lead is not None:
        await scoring.rescore_leads(session, lead.workspace_id, [lead_id])
    if checked.verification is not None:
        return None
    return NO_EMAIL if checked.skipped == "no_email" else "The lead no longer exists."


@jobs.task(
    VERIFY_TASK,
    retry=jobs.backoff(attempts=3, base=2, retry_on=RETRY_ON),
    on_final_failure=_verify_failed,
)
async def verify(
    session: AsyncSession, runtime: Runtime, *, lead_id: str, operation_id: str | None = None
) -> None:
    problem = await _verify_one(session, runtime, uuid.UUID(lead_id))
    if operation_id:
        counted = {"done": 1} if problem is None else {"failed": 1}
        await bulk.progress(session, uuid.UUID(operation_id), **counted)
        if problem is not None:
            await bulk.note_error(session, uuid.UUID(operation_id), problem)


async def _plan_failed(session: AsyncSession, error: Exception, *, operation_id: str) -> None:
    await bulk.fail(session, uuid.UUID(operation_id), str(error))


@jobs.task("leads.bulk_enrich", retry=jobs.backoff(attempts=3), on_final_failure=_plan_failed)
async def bulk_enrich(session: AsyncSession, runtime: Runtime, *, operation_id: str) -> None:
    await bulk.plan(session, uuid.UUID(operation_id))


@jobs.task("leads.bulk_verify", retry=jobs.backoff(attempts=3), on_final_failure=_plan_failed)
async def bulk_verify(session: AsyncSession, runtime: Runtime, *, operation_id: str) -> None:
    await bulk.plan(session, uuid.UUID(operation_id))


@jobs.task(bulk.CHUNK_TASK)
async def bulk_chunk(
    session: AsyncSession, runtime: Runtime, *, operation_id: str, lead_ids: list[str]
) -> None:
    """Each lead in its own transaction, counted as it finishes. A lead whose provider is
    briefly unavailable gets its own job, with retries, which counts it when it ends."""
    op_id = uuid.UUID(operation_id)
    operation = await bulk.get_unscoped(session, op_id)
    if operation is None:
        return
    verifying = operation.action == BulkAction.verify
    task = VERIFY_TASK if verifying else leads.ENRICH_TASK
    for raw in lead_ids:
        lead_id = uuid.UUID(raw)
        error: Exception | None = None
        try:
            async with runtime.db.session() as own:
                if verifying:
                    problem = await _verify_one(own, runtime, lead_id)
                    finished = problem is None
                    if problem is not None:
                        await bulk.note_error(own, op_id, problem)
                else:
                    outcome = await _enrich_one(own, runtime, lead_id, force=True)
                    error = enrichment.failure_of(outcome)
                    finished = error is None
                if isinstance(error, TemporaryProviderError):
                    await jobs.defer(
                        own, task, workspace_id=operation.workspace_id, subject_type="lead",
                        subject_id=lead_id, lead_id=raw, operation_id=operation_id, force=True,
                    )  # fmt: skip
                    continue
                await bulk.progress(own, op_id, **({"done": 1} if finished else {"failed": 1}))
                if error is not None:
                    await bulk.note_error(own, op_id, str(error))
        except TemporaryProviderError:
            async with runtime.db.session() as own:
                await jobs.defer(
                    own, task, workspace_id=operation.workspace_id, subject_type="lead",
                    subject_id=lead_id, lead_id=raw, operation_id=operation_id,
                )  # fmt: skip
        except credits.CreditBudgetExhausted as exc:
            async with runtime.db.session() as own:
                await bulk.progress(own, op_id, failed=1)
                await bulk.note_error(own, op_id, exc.message)


@jobs.task(queries.COUNTS_TASK)
async def refresh_counts(session: AsyncSession, runtime: Runtime, *, workspace: str) -> None:
    await queries.refresh_counts(session, uuid.UUID(workspace))

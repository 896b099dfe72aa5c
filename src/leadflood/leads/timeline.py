"""The lead page's story: which provider set which field, and what happened when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.db.scope import in_workspace, scoped
from leadflood.leads.fields import ENRICHABLE
from leadflood.leads.schemas import FieldSource, LeadDetail, LeadRead, ScoreItem, TimelineEvent
from leadflood.models import EnrichmentRun, JobExecution, JobState, Lead, Message, Verification

SHOWN_FIELDS = ENRICHABLE


async def _runs(session: AsyncSession, lead: Lead) -> list[EnrichmentRun]:
    query = (
        scoped(EnrichmentRun, lead.workspace_id)
        .where(EnrichmentRun.lead_id == lead.id)
        .order_by(EnrichmentRun.created_at, EnrichmentRun.id)
        .limit(500)
    )
    return list((await session.scalars(query)).all())


async def _verifications(session: AsyncSession, lead: Lead) -> list[Verification]:
    query = (
        scoped(Verification, lead.workspace_id)
        .where(Verification.lead_id == lead.id)
        .order_by(Verification.created_at)
        .limit(200)
    )
    return list((await session.scalars(query)).all())


async def _failed_jobs(session: AsyncSession, lead: Lead) -> list[JobExecution]:
    query = (
        select(JobExecution)
        .where(
            in_workspace(JobExecution, lead.workspace_id),
            JobExecution.subject_type == "lead",
            JobExecution.subject_id == lead.id,
            JobExecution.state == JobState.failed,
        )
        .order_by(JobExecution.created_at)
        .limit(100)
    )
    return list((await session.scalars(query)).all())


async def _inbound(session: AsyncSession, lead: Lead) -> list[TimelineEvent]:
    """What the lead's inbound messages did to outreach (the inbox's effects: a stop, a pause,
    a suppression), when the rules concluded it or when a person's correction did."""
    rows = await session.execute(
        select(Message.classification, Message.sent_at, Message.created_at)
        .where(
            in_workspace(Message, lead.workspace_id),
            Message.lead_id == lead.id,
            Message.direction == "inbound",
        )
        .order_by(Message.created_at.desc())
        .limit(200)
    )
    events: list[TimelineEvent] = []
    for stored, sent_at, created_at in rows:
        stored = stored or {}
        corrections = [c for c in stored.get("corrections") or [] if isinstance(c, dict)]
        by_person = {str(e) for c in corrections for e in c.get("effects") or []}
        read = stored.get("previous") or stored
        named = str(read.get("label") or read.get("kind") or "message").replace("_", " ")
        by_rules = [str(e) for e in stored.get("effects") or [] if str(e) not in by_person]
        if by_rules:
            events.append(
                TimelineEvent(
                    at=sent_at or created_at, kind="inbox", title=" ".join(by_rules),
                    detail=f"Inbound message read as {named}",
                )
            )  # fmt: skip
        for c in corrections:
            to = str(c.get("to") or "").replace("_", " ")
            cause = f" (corrected by {c.get('by')})"
            said = " ".join(str(e).removesuffix(cause) for e in c.get("effects") or [])
            if said:
                events.append(
                    TimelineEvent(
                        at=datetime.fromisoformat(str(c["at"])), kind="inbox", title=said,
                        detail=f"Label corrected to {to} by {c.get('by')}",
                    )
                )  # fmt: skip
    return events


SANDBOX = "sandbox"


def sources(lead: Lead, runs: list[EnrichmentRun]) -> list[FieldSource]:
    """The provider whose answer filled each field; what no run filled came with the lead."""
    by_field: dict[str, FieldSource] = {}
    for run in runs:
        for name in run.fields_changed or []:
            by_field[name] = FieldSource(
                field=name, provider=run.provider, at=run.created_at,
                sandbox=run.provider == SANDBOX,
            )  # fmt: skip
    for name in SHOWN_FIELDS:
        if name not in by_field and getattr(lead, name) not in (None, ""):
            by_field[name] = FieldSource(
                field=name, provider=lead.source, at=lead.created_at,
                sandbox=lead.source == SANDBOX,
            )  # fmt: skip
    return [by_field[name] for name in SHOWN_FIELDS if name in by_field]


def _run_event(run: EnrichmentRun) -> TimelineEvent:
    fields = ", ".join(name.replace("_", " ") for name in run.fields_changed or [])
    if run.error_code == "credit_budget_exhausted":
        return TimelineEvent(
            at=run.created_at, kind="enrichment_refused", provider=run.provider,
            title=f"{run.provider} not asked: monthly credit budget used up", detail=run.error,
        )  # fmt: skip
    if run.error:
        return TimelineEvent(
            at=run.created_at, kind="enrichment_failed", provider=run.provider,
            title=f"{run.provider} failed", detail=run.error,
        )  # fmt: skip
    how = " (from cache)" if run.cached else ""
    cost = f" · {run.cost.normalize()} credits" if run.cost else ""
    return TimelineEvent(
        at=run.created_at,
        kind="enriched",
        provider=run.provider,
        title=f"Enriched by {run.provider}{how}",
        detail=(f"filled {fields}" if fields else "nothing new") + cost,
    )


def _events(
    lead: Lead,
    runs: list[EnrichmentRun],
    checks: list[Verification],
    failures: list[JobExecution],
    inbound: list[TimelineEvent],
) -> list[TimelineEvent]:
    imported = lead.source == "import"
    events = [
        TimelineEvent(
            at=lead.created_at,
            kind="imported" if imported else "created",
            title="Imported from a file" if imported else f"Created ({lead.source})",
        )
    ]
    events += [_run_event(run) for run in runs if run.settled_at is not None or run.error]
    for check in checks:
        if check.evidence.get("pending"):
            continue
        reason = check.evidence.get("reason")
        events.append(
            TimelineEvent(
                at=check.created_at,
                kind="verified",
                provider=check.provider,
                title=f"Email verified: {check.status}",
                detail=" · ".join(
                    str(part) for part in (reason, check.provider, check.error) if part
                )
                or None,
            )
        )
    if lead.scored_at is not None and lead.score is not None:
        events.append(
            TimelineEvent(at=lead.scored_at, kind="scored", title=f"Scored {lead.score}/100")
        )
    for job in failures:
        events.append(
            TimelineEvent(
                at=job.finished_at or job.created_at,
                kind="job_failed",
                title=f"Job {job.task_name} failed after {job.attempts} attempt(s)",
                detail=job.error,
            )
        )
    events += inbound
    return sorted(events, key=lambda event: event.at)


def breakdown(lead: Lead) -> list[ScoreItem]:
    items: list[ScoreItem] = []
    for item in lead.score_breakdown or []:
        if isinstance(item, dict) and "label" in item:
            items.append(ScoreItem(label=str(item["label"]), points=float(item.get("points", 0))))
    return items


async def detail(session: AsyncSession, lead: Lead) -> LeadDetail:
    runs = await _runs(session, lead)
    checks = await _verifications(session, lead)
    failures = await _failed_jobs(session, lead)
    evidence: dict[str, Any] = dict(lead.verification_evidence or {})
    return LeadDetail(
        lead=LeadRead.model_validate(lead),
        sources=sources(lead, runs),
        verification_evidence=evidence,
        score_breakdown=breakdown(lead),
        timeline=_events(lead, runs, checks, failures, await _inbound(session, lead)),
    )

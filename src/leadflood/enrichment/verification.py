"""Verifying a lead's email: our own checks (syntax, MX with a timeout, role and disposable
addresses) combined with the workspace's verifier when one is chosen. The status and its
evidence are kept on the lead and as a Verification row."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import credentials
from leadflood.enrichment import config as enrichment_settings
from leadflood.enrichment import credits
from leadflood.leads.email_checks import verify_locally
from leadflood.models import Lead, Verification, VerificationStatus
from leadflood.providers.base import ProviderError, TemporaryProviderError, VerificationResult
from leadflood.providers.registry import ProviderRegistry

VERIFY_TASK = "leads.verify"


@dataclass
class Checked:
    lead: Lead | None
    verification: Verification | None = None
    skipped: str | None = None  # why nothing was checked ("no_email", "missing")


async def verify_lead(
    session: AsyncSession,
    providers: ProviderRegistry,
    lead_id: uuid.UUID,
    *,
    timeout: float,
) -> Checked:
    """Check one lead's email now. A temporary provider failure is raised (the job retries);
    a permanent one is kept in the evidence and our own checks decide; a used-up budget raises
    CreditBudgetExhausted and leaves the lead as it is."""
    lead = await session.get(Lead, lead_id, with_for_update={"key_share": True})
    if lead is None:
        return Checked(None, skipped="missing")
    if not lead.email:
        return Checked(lead, skipped="no_email")
    email = lead.email
    config = await enrichment_settings.load(session, lead.workspace_id)
    name = None if config.verifier == enrichment_settings.NO_VERIFIER else config.verifier
    answer: VerificationResult | None = None
    problem: ProviderError | None = None
    reserved: uuid.UUID | None = None
    if name is not None:
        try:
            key = await credentials.provider_key(session, providers, lead.workspace_id, name)
            verifier = providers.verifier(name, api_key=key)
        except ProviderError as exc:
            problem = exc
        else:
            reservation = Verification(
                workspace_id=lead.workspace_id,
                lead_id=lead.id,
                email=email,
                status="unknown",
                evidence={"pending": True},
                provider=name,
            )
            reserved = await credits.reserve_committed(
                session, reservation, credits.price_of(verifier)
            )
            try:
                answer = await verifier.verify(email)
            except TemporaryProviderError as exc:
                await credits.settle_committed(
                    session, Verification, reserved, cost=Decimal(0), error=str(exc),
                    evidence={"provider_error": _problem(name, exc)},
                )  # fmt: skip
                raise
            except ProviderError as exc:
                problem = exc
    status, evidence = await verify_locally(
        email, timeout=timeout, resolver=providers.resolver(), provider=answer
    )
    if problem is not None:
        evidence["provider_error"] = _problem(name or "", problem)
    values: dict[str, Any] = {
        "status": status,
        "evidence": evidence,
        "cost": Decimal(str(answer.cost)) if answer else Decimal(0),
        "error": str(problem) if problem else None,
    }
    if reserved is not None:
        await credits.settle_committed(session, Verification, reserved, **values)
        verification = await session.get(Verification, reserved, populate_existing=True)
    else:
        verification = Verification(
            workspace_id=lead.workspace_id, lead_id=lead.id, email=email, provider=name, **values
        )
        session.add(verification)
    lead.verification_status = VerificationStatus(status)
    lead.verification_evidence = evidence
    lead.verified_at = datetime.now(UTC)
    await session.flush()
    return Checked(lead, verification)


def _problem(provider: str, exc: ProviderError) -> dict[str, Any]:
    return {"provider": provider, "code": exc.code, "message": str(exc)}

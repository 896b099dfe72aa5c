from __future__ import annotations

from fastapi import APIRouter

from leadflood.deps import AdminDep, SessionDep, ViewerDep
from leadflood.leads import credits, enrichment_settings
from leadflood.leads.enrichment_schemas import (
    CreditUsage,
    EnrichmentSettingsRead,
    EnrichmentSettingsUpdate,
)
from leadflood.leads.fields import ENRICHABLE
from leadflood.providers.registry import ENRICHERS, VERIFIERS

router = APIRouter(prefix="/v1/settings/enrichment", tags=["settings"])


def _read(config: enrichment_settings.EnrichmentConfig) -> EnrichmentSettingsRead:
    return EnrichmentSettingsRead(
        waterfall=config.waterfall,
        wanted_fields=config.wanted_fields,
        monthly_budget=config.monthly_budget,
        verifier=config.verifier,
        available_enrichers=list(ENRICHERS),
        available_verifiers=[*VERIFIERS, enrichment_settings.NO_VERIFIER],
        enrichable_fields=list(ENRICHABLE),
    )


@router.get("", response_model=EnrichmentSettingsRead)
async def get_settings(session: SessionDep, member: AdminDep) -> EnrichmentSettingsRead:
    return _read(await enrichment_settings.load(session, member.workspace_id))


@router.put("", response_model=EnrichmentSettingsRead)
async def put_settings(
    data: EnrichmentSettingsUpdate, session: SessionDep, member: AdminDep
) -> EnrichmentSettingsRead:
    """Change the waterfall's order, the wanted fields, the monthly budget (null: unlimited)
    or the verifier; fields left out keep their value."""
    return _read(await enrichment_settings.update(session, member.workspace_id, data))


@router.get("/usage", response_model=CreditUsage)
async def usage(session: SessionDep, member: ViewerDep) -> CreditUsage:
    """Credits spent this calendar month (UTC) by enrichment and verification."""
    used = await credits.used_this_month(session, member.workspace_id)
    budget = await credits.budget_of(session, member.workspace_id)
    return CreditUsage(
        month_start=credits.month_start(),
        used=used,
        budget=budget,
        remaining=None if budget is None else max(budget - used, 0),
    )

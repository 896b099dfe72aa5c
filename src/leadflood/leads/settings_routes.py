from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth.principal import CurrentMember
from leadflood.deps import AdminDep, RuntimeDep, SessionDep, ViewerDep
from leadflood.leads import credits, enrichment_settings
from leadflood.leads.enrichment_schemas import (
    CreditUsage,
    EnrichmentSettingsRead,
    EnrichmentSettingsUpdate,
)
from leadflood.leads.enrichment_settings import EnrichmentConfig
from leadflood.leads.fields import ENRICHABLE
from leadflood.providers.registry import ENRICHERS, VERIFIERS
from leadflood.runtime import Runtime

router = APIRouter(prefix="/v1/settings/enrichment", tags=["settings"])


async def _read(
    session: AsyncSession, runtime: Runtime, member: CurrentMember, config: EnrichmentConfig
) -> EnrichmentSettingsRead:
    configured = await enrichment_settings.configured(
        session, runtime.providers, member.workspace_id
    )
    return EnrichmentSettingsRead(
        waterfall=config.waterfall,
        wanted_fields=config.wanted_fields,
        monthly_budget=config.monthly_budget,
        verifier=config.verifier,
        available_enrichers=list(ENRICHERS),
        available_verifiers=[*VERIFIERS, enrichment_settings.NO_VERIFIER],
        enrichable_fields=list(ENRICHABLE),
        configured_providers=configured,
    )


@router.get("", response_model=EnrichmentSettingsRead)
async def get_settings(
    session: SessionDep, runtime: RuntimeDep, member: AdminDep
) -> EnrichmentSettingsRead:
    """The workspace's choices, and which providers can run for it (`configured_providers`:
    a key under Settings → Credentials or a process-wide one)."""
    config = await enrichment_settings.load(session, member.workspace_id)
    return await _read(session, runtime, member, config)


@router.put("", response_model=EnrichmentSettingsRead)
async def put_settings(
    data: EnrichmentSettingsUpdate, session: SessionDep, runtime: RuntimeDep, member: AdminDep
) -> EnrichmentSettingsRead:
    """Change the waterfall's order, the wanted fields, the monthly budget (null: unlimited)
    or the verifier; fields left out keep their value."""
    config = await enrichment_settings.update(session, member.workspace_id, data)
    return await _read(session, runtime, member, config)


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

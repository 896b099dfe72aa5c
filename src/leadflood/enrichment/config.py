"""A workspace's enrichment choices: the waterfall's order, the fields it should fill, the
monthly credit budget and the email verifier. A workspace without a row uses the defaults."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import audit, credentials
from leadflood.auth.principal import CurrentMember
from leadflood.enrichment.schemas import EnrichmentSettingsUpdate
from leadflood.errors import InvalidInput
from leadflood.leads.fields import ENRICHABLE
from leadflood.models import EnrichmentSettings
from leadflood.providers.registry import ENRICHERS, VERIFIERS, ProviderRegistry
from leadflood.settings import Settings

DEFAULT_WANTED = (
    "email",
    "title",
    "company_name",
    "company_domain",
    "linkedin_url",
    "country",
    "timezone",
)
NO_VERIFIER = "none"
SANDBOX = "sandbox"


class UnknownProvider(InvalidInput):
    code = "unknown_provider"


@dataclass(frozen=True, slots=True)
class EnrichmentConfig:
    waterfall: list[str]
    wanted_fields: list[str]
    monthly_budget: Decimal | None
    verifier: str


def defaults(settings: Settings) -> EnrichmentConfig:
    """A workspace that chose nothing: the process-wide enricher when it is a real provider,
    else no provider at all (only the free checks run). The sandbox is never a silent default:
    it is a closed synthetic universe, chosen by the demo workspace or by a user."""
    real = settings.enricher if settings.enricher != SANDBOX else None
    return EnrichmentConfig(
        waterfall=[real] if real else [],
        wanted_fields=list(DEFAULT_WANTED),
        monthly_budget=None,
        verifier=NO_VERIFIER,
    )


def sandbox_only() -> EnrichmentSettingsUpdate:
    """The demo workspace's choice: the sandbox finds and verifies its own synthetic people."""
    return EnrichmentSettingsUpdate(waterfall=[SANDBOX], verifier=SANDBOX)


def _settings(session: AsyncSession) -> Settings:
    settings: Settings = session.info["settings"]
    return settings


async def load(session: AsyncSession, workspace_id: uuid.UUID) -> EnrichmentConfig:
    base = defaults(_settings(session))
    row = await session.get(EnrichmentSettings, workspace_id)
    if row is None:
        return base
    return EnrichmentConfig(
        waterfall=list(row.waterfall) or base.waterfall,
        wanted_fields=list(row.wanted_fields) or base.wanted_fields,
        monthly_budget=row.monthly_budget,
        verifier=row.verifier or base.verifier,
    )


async def configured(
    session: AsyncSession, providers: ProviderRegistry, workspace_id: uuid.UUID
) -> dict[str, bool]:
    """Which providers can run for this workspace: with a key it stored under Settings →
    Credentials, with the process-wide one, or with none needed (the sandbox)."""
    stored = [row.provider for row in await credentials.list_all(session, workspace_id)]
    return providers.configured(stored)


async def update(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    data: EnrichmentSettingsUpdate,
    *,
    by: CurrentMember | None = None,
) -> EnrichmentConfig:
    changes = data.model_dump(exclude_unset=True)
    cleared = [name for name in ("waterfall", "wanted_fields", "verifier") if name in changes
               and changes[name] is None]  # fmt: skip
    if cleared:
        raise InvalidInput(
            f"{cleared[0]} cannot be empty; leave it out to keep its value.",
            details={"field": cleared[0]},
        )
    unknown = [name for name in changes.get("waterfall") or [] if name not in ENRICHERS]
    if unknown:
        raise UnknownProvider(
            f"Unknown enricher {unknown[0]!r}; choose from {', '.join(ENRICHERS)}.",
            details={"field": "waterfall", "allowed": list(ENRICHERS)},
        )
    if "waterfall" in changes and len(set(changes["waterfall"])) != len(changes["waterfall"]):
        raise InvalidInput("Each enricher may appear once in the waterfall.")
    bad = [name for name in changes.get("wanted_fields") or [] if name not in ENRICHABLE]
    if bad:
        raise InvalidInput(
            f"{bad[0]!r} is not a field enrichment can fill.",
            details={"field": "wanted_fields", "allowed": list(ENRICHABLE)},
        )
    verifier = changes.get("verifier")
    if verifier is not None and verifier not in (*VERIFIERS, NO_VERIFIER):
        raise UnknownProvider(
            f"Unknown verifier {verifier!r}; choose from {', '.join((*VERIFIERS, NO_VERIFIER))}.",
            details={"field": "verifier"},
        )
    row = await session.get(EnrichmentSettings, workspace_id, with_for_update=True)
    if row is None:
        current = await load(session, workspace_id)
        row = EnrichmentSettings(
            workspace_id=workspace_id,
            waterfall=current.waterfall,
            wanted_fields=current.wanted_fields,
            monthly_budget=current.monthly_budget,
            verifier=current.verifier,
        )
        session.add(row)
    for name, value in changes.items():
        setattr(row, name, value)
    await session.flush()
    await audit.record(
        session,
        "settings.enrichment_updated",
        actor=by,
        workspace_id=workspace_id,
        target_type="workspace",
        target_id=workspace_id,
        details={"fields": sorted(changes)},
    )
    return await load(session, workspace_id)

"""The demo workspace enriches with the sandbox; a workspace made any other way does not."""

from __future__ import annotations

from leadflood.demo import account as demo
from leadflood.enrichment import config as enrichment_settings
from leadflood.enrichment import waterfall
from leadflood.models import Lead
from tests.factories import make_lead, make_workspace, universe_email


async def test_the_demo_workspace_enriches_sandbox_people(runtime) -> None:
    async with runtime.db.session() as session:
        seeded = await demo.seed(session)
        workspace_id = seeded.workspace.id
        lead_id = (await make_lead(session, workspace_id, email=universe_email(5))).id
    async with runtime.db.session() as session:
        config = await enrichment_settings.load(session, workspace_id)
        assert (config.waterfall, config.verifier) == (["sandbox"], "sandbox")
        chain = await waterfall.waterfall_of(
            session, runtime.providers, workspace_id, config.waterfall
        )
        outcome = await waterfall.enrich_lead(session, lead_id, chain)
        await session.commit()
    assert "title" in outcome.changed
    async with runtime.db.session() as session:
        lead = await session.get(Lead, lead_id)
    assert lead is not None and lead.title


async def test_seeding_again_keeps_the_users_choice(runtime) -> None:
    async with runtime.db.session() as session:
        seeded = await demo.seed(session)
        await enrichment_settings.update(
            session,
            seeded.workspace.id,
            enrichment_settings.EnrichmentSettingsUpdate(waterfall=["hunter"], verifier="none"),
        )
    async with runtime.db.session() as session:
        await demo.seed(session)
        config = await enrichment_settings.load(session, seeded.workspace.id)
    assert config.waterfall == ["hunter"]


async def test_another_workspace_has_no_enricher_by_default(runtime) -> None:
    async with runtime.db.session() as session:
        workspace = await make_workspace(session, "Real Co")
        config = await enrichment_settings.load(session, workspace.id)
    assert (config.waterfall, config.verifier) == ([], "none")

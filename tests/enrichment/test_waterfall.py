from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from leadflood.enrichment import waterfall as enrichment
from leadflood.models import EnrichmentCache, EnrichmentRun, Lead, LeadStatus
from leadflood.providers.base import PermanentProviderError
from tests.factories import make_lead, universe_email
from tests.support.enrichers import Scripted
from tests.support.jobs import drain

WANTED = ["title", "company_name", "country"]


async def _runs(runtime, lead_id) -> list[EnrichmentRun]:
    async with runtime.db.session() as session:
        rows = await session.scalars(
            select(EnrichmentRun)
            .where(EnrichmentRun.lead_id == lead_id)
            .order_by(EnrichmentRun.created_at)
        )
        return list(rows.all())


async def _enrich(runtime, lead_id, chain, *, force=False) -> enrichment.Outcome:
    async with runtime.db.session() as session:
        return await enrichment.enrich_lead(session, lead_id, chain, wanted=WANTED, force=force)


async def test_waterfall_asks_in_order_and_stops_once_the_wanted_fields_are_filled(
    runtime, owner
) -> None:
    async with runtime.db.session() as session:
        lead_id = (await make_lead(session, owner.workspace_id, title="CTO")).id
    first = Scripted("first", {"company_name": "Acme", "title": "Intern"}, cost=1, max_cost=1)
    second = Scripted("second", {"country": "Germany", "city": "Berlin"}, cost=2, max_cost=2)
    third = Scripted("third", {"phone": "+14155550123"})

    outcome = await _enrich(runtime, lead_id, [first, second, third])

    assert (len(first.calls), len(second.calls), len(third.calls)) == (1, 1, 0)
    assert sorted(outcome.changed) == ["city", "company_name", "country"]
    async with runtime.db.session() as session:
        lead = await session.get(Lead, lead_id)
    assert lead.title == "CTO"  # never overwritten
    assert (lead.company_name, lead.country, lead.city) == ("Acme", "DE", "Berlin")
    assert lead.status == LeadStatus.enriched and lead.enriched_at is not None
    runs = await _runs(runtime, lead_id)
    assert [(r.provider, r.cost, r.fields_changed, r.cached) for r in runs] == [
        ("first", Decimal(1), ["company_name"], False),
        ("second", Decimal(2), ["city", "country"], False),
    ]


async def test_a_second_run_reads_the_cache_and_pays_nothing(runtime, owner) -> None:
    async with runtime.db.session() as session:
        lead_id = (await make_lead(session, owner.workspace_id)).id
    paid = Scripted("paid", {"title": "VP Sales"}, cost=1, max_cost=1)
    other = Scripted("other", {"company_name": "Acme", "country": "FR"})
    await _enrich(runtime, lead_id, [paid, other])
    async with runtime.db.session() as session:
        await session.execute(Lead.__table__.update().values(title=None, company_name=None))

    outcome = await _enrich(runtime, lead_id, [paid, other], force=True)

    assert len(paid.calls) == len(other.calls) == 1
    assert sorted(outcome.changed) == ["company_name", "title"]
    runs = await _runs(runtime, lead_id)
    assert [(r.provider, r.cached, r.cost) for r in runs[2:]] == [
        ("paid", True, Decimal(0)),
        ("other", True, Decimal(0)),
    ]
    async with runtime.db.session() as session:
        cached = await session.scalar(
            select(EnrichmentCache).where(EnrichmentCache.provider == "paid")
        )
    assert cached.result["fields"] == {"title": "VP Sales"}


async def test_a_failing_provider_is_recorded_and_the_next_one_is_asked(runtime, owner) -> None:
    async with runtime.db.session() as session:
        lead_id = (await make_lead(session, owner.workspace_id)).id
    broken = Scripted(
        "broken", error=PermanentProviderError("no match", provider="broken", code="no_match")
    )
    good = Scripted("good", {"title": "CEO", "company_name": "Acme", "country": "US"})

    outcome = await _enrich(runtime, lead_id, [broken, good])

    assert outcome.answered and enrichment.failure_of(outcome) is None
    runs = await _runs(runtime, lead_id)
    assert [(r.provider, r.error, r.error_code) for r in runs] == [
        ("broken", "no match", "no_match"),
        ("good", None, None),
    ]


async def test_when_every_provider_fails_the_lead_fails_with_the_error(runtime, owner) -> None:
    async with runtime.db.session() as session:
        lead_id = (await make_lead(session, owner.workspace_id)).id
    broken = Scripted("broken", error=PermanentProviderError("nobody", provider="broken"))
    outcome = await _enrich(runtime, lead_id, [broken])
    assert isinstance(enrichment.failure_of(outcome), PermanentProviderError)
    async with runtime.db.session() as session:
        lead = await session.get(Lead, lead_id)
    assert (lead.status, lead.error) == (LeadStatus.failed, "nobody")


async def test_an_enricher_without_a_key_is_recorded_and_skipped(runtime, owner) -> None:
    async with runtime.db.session() as session:
        lead_id = (
            await make_lead(session, owner.workspace_id, email="ada@lovelace-analytics.com")
        ).id
    async with runtime.db.session() as session:
        chain = await enrichment.waterfall_of(
            session, runtime.providers, owner.workspace_id, ["hunter", "sandbox"]
        )
    outcome = await _enrich(runtime, lead_id, chain)
    assert outcome.answered
    runs = await _runs(runtime, lead_id)
    assert [r.provider for r in runs] == ["hunter", "sandbox"]
    assert runs[0].error_code == "provider_not_configured"
    assert "Settings → Credentials" in (runs[0].error or "")
    assert "HUNTER_API_KEY" in (runs[0].error or "")


async def test_api_settings_order_the_waterfall_and_single_enrich_runs_it(
    client, runtime, owner
) -> None:
    put = await client.put(
        "/v1/settings/enrichment",
        json={"waterfall": ["hunter", "sandbox"], "wanted_fields": ["title", "phone"]},
    )
    assert put.status_code == 200, put.text
    assert put.json()["waterfall"] == ["hunter", "sandbox"]
    async with runtime.db.session() as session:
        lead_id = (await make_lead(session, owner.workspace_id, email=universe_email(50))).id

    started = await client.post(f"/v1/leads/{lead_id}/enrich")
    assert started.status_code == 202, started.text
    await drain(runtime)

    lead = (await client.get(f"/v1/leads/{lead_id}")).json()
    assert lead["status"] == "enriched" and lead["title"] and lead["phone"]
    detail = (await client.get(f"/v1/leads/{lead_id}/detail")).json()
    providers = {source["field"]: source["provider"] for source in detail["sources"]}
    assert providers["title"] == "sandbox"
    title = next(source for source in detail["sources"] if source["field"] == "title")
    assert title["sandbox"] is True
    kinds = [event["kind"] for event in detail["timeline"]]
    assert kinds[0] == "created" and "enriched" in kinds and "enrichment_failed" in kinds


async def test_unknown_enricher_in_settings_is_a_422(client) -> None:
    response = await client.put("/v1/settings/enrichment", json={"waterfall": ["clearbit"]})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unknown_provider"


async def test_clearing_the_waterfall_is_refused_but_the_budget_may_be_unset(client) -> None:
    refused = await client.put("/v1/settings/enrichment", json={"waterfall": None})
    assert refused.status_code == 422
    unlimited = await client.put("/v1/settings/enrichment", json={"monthly_budget": None})
    assert unlimited.status_code == 200 and unlimited.json()["monthly_budget"] is None


async def test_an_outage_opens_the_providers_breaker_and_the_waterfall_skips_it(
    runtime, owner
) -> None:
    """Hunter answering 503 opens its breaker for the workspace after BREAKER_FAILURES leads:
    the next leads do not call it (no request, no run) and go on to the next enricher."""
    from datetime import UTC, datetime, timedelta

    import httpx
    from sqlalchemy import update

    from leadflood.models import Breaker
    from leadflood.providers.hunter import HunterClient

    calls: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503, json={"errors": [{"details": "down"}]})

    hunter = HunterClient("hk", transport=httpx.MockTransport(handle))
    good = Scripted("good", {"title": "CEO", "company_name": "Acme", "country": "US"})
    threshold = runtime.settings.breaker_failures
    async with runtime.db.session() as session:
        leads = [
            (
                await make_lead(
                    session, owner.workspace_id, email=None, first_name="Ann",
                    last_name=f"Lee{i}", company_domain="acme.example",
                )
            ).id
            for i in range(threshold + 2)
        ]  # fmt: skip

    outcomes = [await _enrich(runtime, lead_id, [hunter, good]) for lead_id in leads]

    assert len(calls) == threshold
    assert all(o.answered for o in outcomes)
    skipped = outcomes[-1].retry
    assert skipped is not None and skipped.code == "breaker_open" and skipped.retry_after
    assert [r.provider for r in await _runs(runtime, leads[-1])] == ["good"]

    # After the cool-down one probe goes out; a second failure opens the breaker again.
    async with runtime.db.session() as session:
        await session.execute(
            update(Breaker).values(opened_until=datetime.now(UTC) - timedelta(seconds=1))
        )
        extra = (
            await make_lead(
                session, owner.workspace_id, email=None, first_name="Bo", last_name="Ray",
                company_domain="acme.example",
            )
        ).id  # fmt: skip
    await _enrich(runtime, extra, [hunter, good])
    assert len(calls) == threshold + 1
    async with runtime.db.sessions() as session:
        row = await session.get(Breaker, ("hunter", str(owner.workspace_id)))
    assert row is not None and row.state == "open"

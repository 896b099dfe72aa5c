from __future__ import annotations

import uuid
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from leadflood.enrichment import credits
from leadflood.enrichment import waterfall as enrichment
from leadflood.models import EnrichmentRun, EnrichmentSettings, Lead, LeadStatus, Workspace
from tests.factories import make_lead
from tests.support.enrichers import Scripted
from tests.support.jobs import drain

WANTED = ["title"]


async def _set_budget(runtime, workspace_id, budget: Decimal | None, waterfall=("sandbox",)):
    async with runtime.db.session() as session:
        row = await session.get(EnrichmentSettings, workspace_id)
        if row is None:
            row = EnrichmentSettings(
                workspace_id=workspace_id, waterfall=list(waterfall), wanted_fields=WANTED
            )
            session.add(row)
        row.monthly_budget = budget


async def _used(runtime, workspace_id) -> Decimal:
    async with runtime.db.session() as session:
        return await credits.used_this_month(session, workspace_id)


async def test_spending_stops_with_a_clear_error_once_the_budget_is_used_up(runtime, owner):
    await _set_budget(runtime, owner.workspace_id, Decimal(2))
    paid = Scripted("paid", {"title": "CFO"}, cost=1, max_cost=1)
    ids = []
    for _ in range(3):
        async with runtime.db.session() as session:
            ids.append((await make_lead(session, owner.workspace_id)).id)
    outcomes = []
    for lead_id in ids:
        async with runtime.db.session() as session:
            outcomes.append(await enrichment.enrich_lead(session, lead_id, [paid], wanted=WANTED))

    assert len(paid.calls) == 2
    assert [o.budget is None for o in outcomes] == [True, True, False]
    refused = enrichment.failure_of(outcomes[2])
    assert isinstance(refused, credits.CreditBudgetExhausted)
    assert (refused.status, refused.code) == (402, "credit_budget_exhausted")
    assert await _used(runtime, owner.workspace_id) == Decimal(2)
    async with runtime.db.session() as session:
        lead = await session.get(Lead, ids[2])
        run = await session.scalar(select(EnrichmentRun).where(EnrichmentRun.lead_id == ids[2]))
    assert (lead.status, lead.title, lead.error) == (LeadStatus.new, None, None)
    assert (run.error_code, run.cost) == ("credit_budget_exhausted", Decimal(0))


async def test_free_providers_keep_working_when_the_budget_is_used_up(runtime, owner):
    await _set_budget(runtime, owner.workspace_id, Decimal(0))
    free = Scripted("free", {"title": "CFO"})
    async with runtime.db.session() as session:
        lead_id = (await make_lead(session, owner.workspace_id)).id
    async with runtime.db.session() as session:
        outcome = await enrichment.enrich_lead(session, lead_id, [free], wanted=WANTED)
    assert outcome.answered and outcome.budget is None


async def test_api_refuses_at_once_when_the_budget_is_used_up(client, runtime, owner):
    await _set_budget(runtime, owner.workspace_id, Decimal(1), waterfall=("hunter",))
    async with runtime.db.session() as session:
        lead_id = (await make_lead(session, owner.workspace_id)).id
    async with runtime.db.session() as session:
        session.add(
            EnrichmentRun(
                workspace_id=owner.workspace_id, lead_id=lead_id, provider="hunter",
                fields_changed=[], cost=Decimal(1),
            )
        )  # fmt: skip
    response = await client.post(f"/v1/leads/{lead_id}/enrich")
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "credit_budget_exhausted"
    bulk = await client.post("/v1/leads/bulk/enrich", json={"lead_ids": [str(lead_id)]})
    assert bulk.status_code == 402
    usage = (await client.get("/v1/settings/enrichment/usage")).json()
    assert (Decimal(usage["used"]), Decimal(usage["remaining"])) == (1, 0)


async def test_the_job_fails_with_the_budget_error_and_leaves_the_lead_alone(
    client, runtime, owner
):
    await _set_budget(runtime, owner.workspace_id, Decimal(0), waterfall=("hunter",))
    runtime.settings.hunter_api_key = "test-key"
    async with runtime.db.session() as session:
        lead_id = (await make_lead(session, owner.workspace_id, first_name="Ada", last_name="L")).id
    async with runtime.db.session() as session:
        from leadflood import jobs

        job_id = await jobs.defer(
            session, "leads.enrich", workspace_id=owner.workspace_id, subject_type="lead",
            subject_id=lead_id, lead_id=str(lead_id),
        )  # fmt: skip
    await drain(runtime)
    job = (await client.get(f"/v1/jobs/{job_id}")).json()
    assert (job["status"], job["attempts"]) == ("failed", 1)
    assert "CreditBudgetExhausted" in job["error"]
    lead = (await client.get(f"/v1/leads/{lead_id}")).json()
    assert (lead["status"], lead["error"]) == ("new", None)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    budget=st.integers(min_value=0, max_value=12),
    calls=st.lists(
        st.tuples(st.integers(min_value=0, max_value=3), st.integers(min_value=0, max_value=3)),
        min_size=1,
        max_size=12,
    ),
)
async def test_recorded_spending_never_exceeds_the_budget(runtime, budget, calls):
    async with runtime.db.session() as session:
        workspace = Workspace(name="Budget", slug=f"budget-{uuid.uuid4().hex[:8]}")
        session.add(workspace)
        await session.flush()
        workspace_id = workspace.id
    await _set_budget(runtime, workspace_id, Decimal(budget))
    for price, spent in calls:
        enricher = Scripted(f"p{price}", {"title": "VP"}, cost=min(price, spent), max_cost=price)
        async with runtime.db.session() as session:
            lead_id = (await make_lead(session, workspace_id)).id
        async with runtime.db.session() as session:
            await enrichment.enrich_lead(session, lead_id, [enricher], wanted=WANTED)
        assert await _used(runtime, workspace_id) <= budget

"""Apollo's people search returns no emails (and, on most plans, no LinkedIn URLs): such people
become leads deduplicated on their LinkedIn profile or, failing that, on Apollo's person id, and
enrichment (Apollo people/match by that id, then Hunter's email finder) fills their email.
Provider HTTP runs on httpx.MockTransport with the documented shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from leadflood.auth import credentials
from leadflood.auth.principal import CurrentMember
from leadflood.enrichment import config as enrichment_settings
from leadflood.enrichment import waterfall as enrichment
from leadflood.enrichment.schemas import EnrichmentSettingsUpdate
from leadflood.models import (
    EnrichmentRun,
    Lead,
    Role,
    SearchOutcome,
    SearchResult,
    SearchRunState,
    Workspace,
)
from leadflood.providers.registry import ProviderRegistry
from tests.factories import make_lead
from tests.support.accounts import Account
from tests.support.enrichers import Scripted
from tests.support.icps import make_icp, reload_run, start_run
from tests.support.jobs import drain

FIXTURES = Path(__file__).resolve().parents[1] / "providers" / "fixtures"
TIM = "https://www.linkedin.com/in/tim-zheng-677ba010"
PATRICK = "https://www.linkedin.com/in/patrickcollison"
ANDREW = "67bdafd0c3a4c50001bbd7c2"  # Apollo's id; the search gives nothing else to know him by

# api_search's documented shape (no email, obfuscated last name), with the LinkedIn URLs that
# plans exposing them return, spelled as loosely as exports spell them.
PEOPLE: list[dict[str, Any]] = [
    {
        "id": "64a7ff0cc4dfae00013df1a5",
        "first_name": "Tim",
        "last_name_obfuscated": "Zh***g",
        "title": "Founder & CEO",
        "has_email": True,
        "linkedin_url": "http://www.linkedin.com/in/tim-zheng-677ba010",
        "organization": {"name": "Apollo.io", "primary_domain": "apollo.io"},
    },
    {
        "id": "5f0c1e2a9b8d7c0001a2b3c5",
        "first_name": "Patrick",
        "last_name": "Collison",
        "title": "CEO",
        "has_email": True,
        "linkedin_url": "linkedin.com/in/patrickcollison/",
        "organization": {"name": "Stripe", "primary_domain": "stripe.com"},
    },
    {
        "id": "67bdafd0c3a4c50001bbd7c2",
        "first_name": "Andrew",
        "last_name_obfuscated": "Hu***n",
        "title": "Head of Growth",
        "has_email": True,
        "organization": {"name": "Scicomm Media"},
    },
    {
        "id": "64a7ff0cc4dfae00013df1a6",
        "first_name": "Tim",
        "last_name_obfuscated": "Zh***g",
        "title": "CEO",
        "linkedin_url": "https://linkedin.com/in/tim-zheng-677ba010/",
        "organization": {"name": "Apollo.io", "primary_domain": "apollo.io"},
    },
]


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


class Providers:
    """Apollo search and people/match, and Hunter's email finder, as their APIs answer."""

    def __init__(self) -> None:
        self.matches: list[dict[str, Any]] = []
        self.finder: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/mixed_people/api_search"):
            return httpx.Response(200, json={"people": PEOPLE, "total_entries": len(PEOPLE)})
        if path.endswith("/people/match"):
            body = json.loads(request.content)
            self.matches.append(body)
            if body.get("linkedin_url") == TIM:
                return httpx.Response(200, json=_fixture("apollo_people_match.json"))
            if body.get("id") == ANDREW:
                return httpx.Response(200, json=_fixture("apollo_people_match_by_id.json"))
            return httpx.Response(200, json=_fixture("apollo_people_match_none.json"))
        if path.endswith("/email-finder"):
            params = dict(request.url.params)
            self.finder.append(params)
            known = (params.get("first_name"), params.get("last_name"), params.get("domain"))
            if known == ("Patrick", "Collison", "stripe.com"):
                return httpx.Response(200, json=_fixture("hunter_email_finder.json"))
            return httpx.Response(200, json=_fixture("hunter_email_finder_none.json"))
        return httpx.Response(404, json={"error": f"unexpected {path}"})


@pytest.fixture
async def providers(runtime, owner: Account) -> Providers:
    fake = Providers()
    runtime.providers = ProviderRegistry(runtime.settings, transport=httpx.MockTransport(fake))
    async with runtime.db.session() as session:
        workspace = await session.get(Workspace, owner.workspace_id)
        assert workspace is not None
        actor = CurrentMember(workspace=workspace, role=Role.owner)
        await credentials.set_secret(session, actor, "apollo", "apollo-key")
        await credentials.set_secret(session, actor, "hunter", "hunter-key")
        await enrichment_settings.update(
            session,
            owner.workspace_id,
            EnrichmentSettingsUpdate(waterfall=["apollo", "hunter"]),
        )
    return fake


async def _leads(runtime, workspace_id) -> dict[str, Lead]:
    async with runtime.db.session() as session:
        rows = await session.scalars(select(Lead).where(Lead.workspace_id == workspace_id))
        # Andrew by Apollo's id: enrichment gives him a LinkedIn URL later.
        return {
            ANDREW if lead.provider_person_id == ANDREW else lead.linkedin_url or str(lead.id): lead
            for lead in rows
        }


async def _results(runtime, run_id) -> dict[str, SearchResult]:
    async with runtime.db.session() as session:
        rows = await session.scalars(select(SearchResult).where(SearchResult.run_id == run_id))
        return {r.source_id: r for r in rows}


async def test_email_less_results_become_leads_deduplicated_on_linkedin_or_person_id(
    runtime, owner: Account, providers: Providers, client
) -> None:
    icp = await make_icp(runtime, owner.workspace_id, criteria={"titles": ["CEO"]})
    run, _ = await start_run(runtime, owner.workspace_id, icp.id, source="apollo")
    await drain(runtime)
    run = await reload_run(runtime, run.id)
    assert run.state == SearchRunState.completed, run.error
    assert (run.found, run.created, run.updated, run.duplicates, run.rejected) == (4, 3, 0, 1, 0)

    leads = await _leads(runtime, owner.workspace_id)
    assert sorted(leads) == sorted([PATRICK, TIM, ANDREW])  # canonical URLs, as CSV import
    assert all(lead.email is None and lead.icp_id == icp.id for lead in leads.values())
    andrew = leads[ANDREW]
    assert (andrew.source, andrew.first_name, andrew.last_name, andrew.linkedin_url) == (
        "apollo",
        "Andrew",
        None,  # the search gives only an obfuscated last name
        None,
    )
    assert leads[TIM].provider_person_id == "64a7ff0cc4dfae00013df1a5"
    results = await _results(runtime, run.id)
    assert results[ANDREW].outcome == SearchOutcome.created
    assert results[ANDREW].lead_id == andrew.id
    repeat = results["64a7ff0cc4dfae00013df1a6"]
    assert repeat.outcome == SearchOutcome.duplicate
    assert repeat.lead_id == leads[TIM].id
    shown = await client.get(f"/v1/leads/{andrew.id}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["provider_person_id"] == ANDREW

    # A second run of the same people finds them all known: no lead is created twice.
    again, _ = await start_run(runtime, owner.workspace_id, icp.id, source="apollo", max_results=50)
    await drain(runtime)
    again = await reload_run(runtime, again.id)
    assert (again.found, again.created, again.updated, again.rejected) == (4, 0, 0, 0)
    assert (await _results(runtime, again.id))[ANDREW].lead_id == andrew.id
    assert len(await _leads(runtime, owner.workspace_id)) == 3


async def test_enrichment_fills_the_email_of_search_leads(
    runtime, owner: Account, providers: Providers, client
) -> None:
    icp = await make_icp(runtime, owner.workspace_id, criteria={"titles": ["CEO"]})
    run, _ = await start_run(runtime, owner.workspace_id, icp.id, source="apollo")
    await drain(runtime)

    started = await client.post("/v1/leads/bulk/enrich", json={"search_run_id": str(run.id)})
    assert started.status_code == 202, started.text
    await drain(runtime)
    bulk = (await client.get(f"/v1/leads/bulk/{started.json()['operation_id']}")).json()
    assert (bulk["state"], bulk["done"], bulk["failed"]) == ("completed", 3, 0), bulk

    leads = await _leads(runtime, owner.workspace_id)
    tim, patrick, andrew = leads[TIM], leads[PATRICK], leads[ANDREW]
    assert (tim.email, tim.last_name, tim.company_domain) == ("tim@apollo.io", "Zheng", "apollo.io")
    assert patrick.email == "patrick@stripe.com"
    assert (andrew.email, andrew.last_name, andrew.company_domain) == (
        "andrew@scicomm.media",
        "Huston",
        "scicomm.media",
    )
    assert andrew.linkedin_url == "https://www.linkedin.com/in/andrew-huston-4b1a2c"
    # Every lead an Apollo search made is matched on Apollo's own id.
    assert {m.get("id") for m in providers.matches} == {
        ANDREW,
        "64a7ff0cc4dfae00013df1a5",
        "5f0c1e2a9b8d7c0001a2b3c5",
    }
    assert {m.get("linkedin_url") for m in providers.matches} == {TIM, PATRICK, None}
    assert {"first_name": "Patrick", "last_name": "Collison", "domain": "stripe.com"} in [
        {k: v for k, v in p.items() if k != "api_key"} for p in providers.finder
    ]
    async with runtime.db.session() as session:
        runs = await session.scalars(
            select(EnrichmentRun).where(EnrichmentRun.lead_id.in_([tim.id, patrick.id, andrew.id]))
        )
        filled = {(r.lead_id, r.provider): r.fields_changed for r in runs}
    assert "email" in filled[tim.id, "apollo"]
    assert "email" in filled[patrick.id, "hunter"]
    assert "email" in filled[andrew.id, "apollo"]
    # The found address is now a key too: the same person found again is no new lead.
    again, _ = await start_run(runtime, owner.workspace_id, icp.id, source="apollo", max_results=50)
    await drain(runtime)
    assert (await reload_run(runtime, again.id)).created == 0
    assert len(await _leads(runtime, owner.workspace_id)) == 3


async def test_enrichment_leaves_out_an_email_another_lead_has(
    runtime, owner: Account, providers: Providers, client
) -> None:
    async with runtime.db.session() as session:
        imported = (await make_lead(session, owner.workspace_id, email="Andrew@Scicomm.media")).id
    icp = await make_icp(runtime, owner.workspace_id, criteria={"titles": ["CEO"]})
    await start_run(runtime, owner.workspace_id, icp.id, source="apollo")
    await drain(runtime)
    andrew = (await _leads(runtime, owner.workspace_id))[ANDREW]

    started = await client.post(f"/v1/leads/{andrew.id}/enrich")
    assert started.status_code in (200, 202), started.text
    await drain(runtime)
    async with runtime.db.session() as session:
        lead = await session.get(Lead, andrew.id)
        assert lead is not None and lead.email is None and lead.last_name == "Huston"
        run_row = await session.scalar(
            select(EnrichmentRun).where(
                EnrichmentRun.lead_id == andrew.id, EnrichmentRun.provider == "apollo"
            )
        )
        owners = await session.scalars(
            select(Lead.id).where(func.lower(Lead.email) == "andrew@scicomm.media")
        )
        assert list(owners) == [imported]
    assert run_row is not None and run_row.error_code == enrichment.EMAIL_IN_USE


async def test_an_email_another_lead_has_is_not_copied(runtime, owner: Account) -> None:
    async with runtime.db.session() as session:
        taken = (await make_lead(session, owner.workspace_id, email="Tim@Apollo.io")).id
    async with runtime.db.session() as session:
        lead = Lead(
            workspace_id=owner.workspace_id, source="apollo", linkedin_url=TIM, custom_fields={}
        )
        session.add(lead)
        await session.flush()
        lead_id = lead.id
    finder = Scripted("finder", {"email": "tim@apollo.io", "title": "CEO"}, cost=1)

    async with runtime.db.session() as session:
        outcome = await enrichment.enrich_lead(
            session, lead_id, [finder], wanted=["email", "title"]
        )
    assert outcome.changed == ["title"]
    async with runtime.db.session() as session:
        lead = await session.get(Lead, lead_id)
        assert lead is not None and (lead.email, lead.title) == (None, "CEO")
        run = await session.scalar(select(EnrichmentRun).where(EnrichmentRun.lead_id == lead_id))
        assert run is not None and run.error_code == enrichment.EMAIL_IN_USE
        assert run.error is not None and "already belongs to another lead" in run.error
        owners = await session.scalar(
            select(func.count()).where(func.lower(Lead.email) == "tim@apollo.io")
        )
    assert owners == 1 and taken != lead_id


async def test_an_invalid_email_from_a_provider_is_not_kept(runtime, owner: Account) -> None:
    async with runtime.db.session() as session:
        lead = Lead(
            workspace_id=owner.workspace_id, source="apollo", linkedin_url=TIM, custom_fields={}
        )
        session.add(lead)
        await session.flush()
        lead_id = lead.id
    sloppy = Scripted("sloppy", {"email": "tim at apollo", "linkedin_url": "not a profile"})
    async with runtime.db.session() as session:
        outcome = await enrichment.enrich_lead(session, lead_id, [sloppy], wanted=["email"])
    assert outcome.changed == []
    async with runtime.db.session() as session:
        lead = await session.get(Lead, lead_id)
        assert lead is not None and lead.email is None and lead.linkedin_url == TIM

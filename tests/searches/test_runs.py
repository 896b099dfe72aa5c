from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from leadflood.models import Company, Lead, SearchOutcome, SearchResult, SearchRun, SearchRunState
from leadflood.providers.base import Prospect, ProviderNotConfiguredError
from leadflood.searches.store import store_page
from tests.support.accounts import Account
from tests.support.icps import make_icp, reload_run, start_run
from tests.support.jobs import drain


async def _scalar(runtime, query):
    async with runtime.db.session() as session:
        return await session.scalar(query)


async def test_a_sandbox_run_pages_stores_and_upserts_everything(runtime, owner: Account) -> None:
    icp = await make_icp(runtime, owner.workspace_id)
    run, existing = await start_run(runtime, owner.workspace_id, icp.id, max_results=250)
    assert (run.state, existing, run.job_id is not None) == (SearchRunState.queued, False, True)
    await drain(runtime)
    run = await reload_run(runtime, run.id)
    assert run.state == SearchRunState.completed, run.error
    assert run.found == 250 and run.pages_done == 3 and run.total_expected == 250
    assert run.found == run.created + run.updated + run.duplicates + run.rejected
    assert run.created > 200
    ws = owner.workspace_id
    results = await _scalar(
        runtime, select(func.count()).select_from(SearchResult).where(SearchResult.run_id == run.id)
    )
    assert results == run.found
    leads = await _scalar(
        runtime, select(func.count()).select_from(Lead).where(Lead.workspace_id == ws)
    )
    assert leads == run.created
    companies = await _scalar(
        runtime, select(func.count()).select_from(Company).where(Company.workspace_id == ws)
    )
    distinct_domains = await _scalar(
        runtime,
        select(func.count(func.distinct(func.lower(Lead.company_domain)))).where(
            Lead.workspace_id == ws
        ),
    )
    assert companies == distinct_domains
    # Every lead is linked to its ICP and company, and scored with its reasons.
    unscored = await _scalar(
        runtime,
        select(func.count())
        .select_from(Lead)
        .where(
            Lead.workspace_id == ws,
            (Lead.score.is_(None)) | (Lead.icp_id != icp.id) | Lead.company_id.is_(None),
        ),
    )
    assert unscored == 0
    async with runtime.db.session() as session:
        lead = await session.scalar(select(Lead).where(Lead.workspace_id == ws).limit(1))
        assert lead is not None and lead.score_breakdown
        assert sum(item["points"] for item in lead.score_breakdown) == lead.score
        raw = await session.scalar(select(SearchResult.raw).where(SearchResult.run_id == run.id))
        assert raw is not None and raw["source_id"].startswith("sandbox:")


async def test_the_same_search_on_the_same_day_is_one_run(runtime, owner: Account) -> None:
    icp = await make_icp(runtime, owner.workspace_id)
    first, _ = await start_run(runtime, owner.workspace_id, icp.id, max_results=50)
    again, existing = await start_run(runtime, owner.workspace_id, icp.id, max_results=50)
    assert existing and (again.id, again.job_id) == (first.id, first.job_id)
    other, existing = await start_run(runtime, owner.workspace_id, icp.id, max_results=60)
    assert not existing and other.id != first.id


async def test_repeating_a_search_never_duplicates_a_lead(runtime, owner: Account) -> None:
    icp = await make_icp(runtime, owner.workspace_id)
    first, _ = await start_run(runtime, owner.workspace_id, icp.id, max_results=120)
    await drain(runtime)
    second, _ = await start_run(runtime, owner.workspace_id, icp.id, max_results=150)
    await drain(runtime)
    first, second = await reload_run(runtime, first.id), await reload_run(runtime, second.id)
    assert second.state == SearchRunState.completed
    # The first 120 (minus rejected) are there already; only the 30 new ones are created.
    assert second.created == 150 - 120 - (second.rejected - first.rejected)
    assert second.duplicates + second.updated == 120 - first.rejected
    leads = await _scalar(
        runtime,
        select(func.count()).select_from(Lead).where(Lead.workspace_id == owner.workspace_id),
    )
    assert leads == first.created + second.created
    emails = await _scalar(
        runtime,
        select(func.count(func.distinct(func.lower(Lead.email)))).where(
            Lead.workspace_id == owner.workspace_id, Lead.email.is_not(None)
        ),
    )
    with_email = await _scalar(
        runtime,
        select(func.count())
        .select_from(Lead)
        .where(Lead.workspace_id == owner.workspace_id, Lead.email.is_not(None)),
    )
    assert emails == with_email


async def test_existing_leads_are_filled_not_overwritten(runtime, owner: Account) -> None:
    icp = await make_icp(runtime, owner.workspace_id, criteria={"titles": ["VP Sales"]})
    async with runtime.db.session() as session:
        # The first VP Sales of the sandbox universe, already known by another spelling.
        session.add(
            Lead(
                workspace_id=owner.workspace_id,
                email="Freja.Sorensen@WILDLEAF.com",
                first_name="Frey",
                source="manual",
                custom_fields={},
            )
        )
    run, _ = await start_run(runtime, owner.workspace_id, icp.id, max_results=5)
    await drain(runtime)
    run = await reload_run(runtime, run.id)
    assert run.updated == 1 and run.created == 4
    async with runtime.db.session() as session:
        lead = await session.scalar(
            select(Lead).where(func.lower(Lead.email) == "freja.sorensen@wildleaf.com")
        )
        assert lead is not None
        assert (lead.first_name, lead.title, lead.icp_id) == ("Frey", "VP Sales", icp.id)
        outcome = await session.scalar(
            select(SearchResult.outcome).where(SearchResult.lead_id == lead.id)
        )
        assert outcome == SearchOutcome.updated


async def test_prospects_without_email_dedupe_on_linkedin(runtime, owner: Account) -> None:
    icp = await make_icp(runtime, owner.workspace_id)
    run, _ = await start_run(runtime, owner.workspace_id, icp.id, max_results=300)
    await drain(runtime)
    no_email = await _scalar(
        runtime,
        select(func.count())
        .select_from(Lead)
        .where(Lead.workspace_id == owner.workspace_id, Lead.email.is_(None)),
    )
    assert no_email > 0
    again, _ = await start_run(runtime, owner.workspace_id, icp.id, max_results=301)
    await drain(runtime)
    again = await reload_run(runtime, again.id)
    assert again.created == 1 - (again.rejected - (await reload_run(runtime, run.id)).rejected)
    no_email_after = await _scalar(
        runtime,
        select(func.count())
        .select_from(Lead)
        .where(Lead.workspace_id == owner.workspace_id, Lead.email.is_(None)),
    )
    assert no_email_after - no_email <= 1


async def test_a_crashed_run_resumes_after_its_last_page(runtime, owner: Account) -> None:
    icp = await make_icp(runtime, owner.workspace_id)
    run, _ = await start_run(runtime, owner.workspace_id, icp.id, max_results=300)
    await drain(runtime)
    done = await reload_run(runtime, run.id)
    # Roll the run back to "a worker died after page 2" and run its job again.
    async with runtime.db.session() as session:
        await session.execute(
            text("DELETE FROM search_results WHERE run_id = :id AND page = 3"), {"id": run.id}
        )
        await session.execute(
            text(
                "UPDATE search_runs SET state = 'failed', pages_done = 2, found = 200 "
                "WHERE id = :id"
            ),
            {"id": run.id},
        )
    again, existing = await start_run(runtime, owner.workspace_id, icp.id, max_results=300)
    assert again.id == run.id and not existing and again.state == SearchRunState.queued
    await drain(runtime)
    resumed = await reload_run(runtime, run.id)
    assert resumed.state == SearchRunState.completed and resumed.found == 300
    assert resumed.pages_done == 3
    results = await _scalar(
        runtime, select(func.count()).select_from(SearchResult).where(SearchResult.run_id == run.id)
    )
    assert results == 300 == done.found


async def test_runs_of_another_workspace_are_not_found(
    runtime, owner: Account, other_workspace: Account
) -> None:
    from leadflood.searches import service as searches

    icp = await make_icp(runtime, owner.workspace_id)
    run, _ = await start_run(runtime, owner.workspace_id, icp.id, max_results=10)
    async with runtime.db.session() as session:
        with pytest.raises(searches.SearchRunNotFound):
            await searches.get_run(session, other_workspace.workspace_id, icp.id, run.id)
        with pytest.raises(searches.SearchRunNotFound):
            await searches.get_run(session, owner.workspace_id, uuid.uuid4(), run.id)


async def test_apollo_without_a_key_is_not_configured(runtime, owner: Account) -> None:
    icp = await make_icp(runtime, owner.workspace_id)
    with pytest.raises(ProviderNotConfiguredError):
        await start_run(runtime, owner.workspace_id, icp.id, source="apollo")


async def _store(runtime, run_id: uuid.UUID, page: int, *prospects: Prospect):
    async with runtime.db.session() as session:
        run = await session.get(SearchRun, run_id)
        assert run is not None
        counts, _ = await store_page(session, run, page, list(prospects))
        return counts


async def _workspace_leads(runtime, workspace_id: uuid.UUID) -> list[Lead]:
    async with runtime.db.session() as session:
        rows = await session.scalars(
            select(Lead).where(Lead.workspace_id == workspace_id).order_by(Lead.created_at)
        )
        return list(rows)


async def test_a_later_result_with_an_email_merges_into_the_person_id_lead(
    runtime, owner: Account
) -> None:
    icp = await make_icp(runtime, owner.workspace_id)
    run, _ = await start_run(runtime, owner.workspace_id, icp.id)
    created = await _store(runtime, run.id, 1, Prospect("p-1", first_name="Ada"))
    assert created == {SearchOutcome.created: 1}
    merged = await _store(
        runtime,
        run.id,
        2,
        Prospect("p-1", email="ada@example.com", linkedin_url="linkedin.com/in/ada-l"),
    )
    assert merged == {SearchOutcome.updated: 1}
    (ada,) = await _workspace_leads(runtime, owner.workspace_id)
    assert (ada.provider_person_id, ada.email, ada.linkedin_url, ada.first_name) == (
        "p-1",
        "ada@example.com",
        "https://www.linkedin.com/in/ada-l",
        "Ada",
    )
    # Another id with her address or profile is her too; her id stays the first one.
    again = await _store(
        runtime,
        run.id,
        3,
        Prospect("p-2", email="ADA@example.com"),
        Prospect("p-3", linkedin_url="https://www.linkedin.com/in/ada-l/"),
    )
    assert again == {SearchOutcome.duplicate: 2}
    (ada,) = await _workspace_leads(runtime, owner.workspace_id)
    assert ada.provider_person_id == "p-1"


async def test_an_email_another_lead_has_stays_where_it_is(runtime, owner: Account) -> None:
    icp = await make_icp(runtime, owner.workspace_id)
    run, _ = await start_run(runtime, owner.workspace_id, icp.id)
    async with runtime.db.session() as session:
        session.add(Lead(workspace_id=owner.workspace_id, email="bo@example.com", custom_fields={}))
    await _store(runtime, run.id, 1, *(Prospect(f"p-{n}") for n in range(3)))
    counts = await _store(
        runtime,
        run.id,
        2,
        Prospect("p-0", email="Bo@example.com", title="CTO"),
        # Two people of one page giving one new address: the first takes it.
        Prospect("p-1", email="cy@example.com"),
        Prospect("p-2", email="CY@example.com"),
    )
    assert counts == {SearchOutcome.updated: 2, SearchOutcome.duplicate: 1}
    leads = {
        lead.provider_person_id: lead
        for lead in await _workspace_leads(runtime, owner.workspace_id)
    }
    assert (leads["p-0"].email, leads["p-0"].title) == (None, "CTO")
    assert (leads["p-1"].email, leads["p-2"].email) == ("cy@example.com", None)
    assert leads[None].email == "bo@example.com"


PROFILES_BAD = "https://example.com/ann"
EMAILS = st.sampled_from([None, "ann@x.io", "ANN@x.io", "bob@x.io", "not-an-email"])
PROFILES = st.sampled_from(
    [None, "linkedin.com/in/ann", "https://www.linkedin.com/in/ann/", PROFILES_BAD]
)
PEOPLE = st.lists(
    st.builds(
        Prospect,
        source_id=st.sampled_from(["", "p-1", "p-2", "p-3", "p-4"]),
        email=EMAILS,
        linkedin_url=PROFILES,
        first_name=st.sampled_from([None, "Ann", "Bob"]),
    ),
    max_size=8,
)


@pytest.fixture
async def property_run(runtime, owner: Account) -> uuid.UUID:
    icp = await make_icp(runtime, owner.workspace_id)
    run, _ = await start_run(runtime, owner.workspace_id, icp.id)
    return run.id


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(pages=st.lists(PEOPLE, min_size=1, max_size=3))
async def test_every_result_is_counted_once_and_storing_again_creates_nothing(
    runtime, property_run: uuid.UUID, pages: list[list[Prospect]]
) -> None:
    for number, prospects in enumerate(pages, start=1):
        counts = await _store(runtime, property_run, number, *prospects)
        assert sum(counts.values()) == len(prospects)
        unidentified = [
            p
            for p in prospects
            if p.email == "not-an-email"
            or (p.email is None and p.source_id == "" and p.linkedin_url in (None, PROFILES_BAD))
        ]
        assert counts[SearchOutcome.rejected] == len(unidentified)
    for number, prospects in enumerate(pages, start=1):
        counts = await _store(runtime, property_run, number, *prospects)
        assert counts[SearchOutcome.created] == 0
        assert sum(counts.values()) == len(prospects)

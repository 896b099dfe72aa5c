from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from leadflood.leads import queries
from leadflood.leads.schemas import LeadFilter
from leadflood.models import Lead, LeadStatus, VerificationStatus
from leadflood.pagination import Window
from tests.factories import make_lead

T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def _seed(runtime, workspace_id, specs: list[dict]) -> list[uuid.UUID]:
    ids = []
    async with runtime.db.session() as session:
        for i, spec in enumerate(specs):
            lead = Lead(
                id=uuid.uuid4(),
                workspace_id=workspace_id,
                email=f"p{i}@{spec.get('domain', 'acme.com')}",
                source="manual",
                created_at=T0 + timedelta(minutes=spec.get("minute", i)),
                status=spec.get("status", LeadStatus.new),
                verification_status=spec.get("verification", VerificationStatus.unverified),
                score=spec.get("score"),
                company_domain=spec.get("domain", "acme.com"),
                company_name=spec.get("company"),
            )
            session.add(lead)
            ids.append(lead.id)
    return ids


async def _pages(session, workspace_id, where, sort, limit) -> list[Window[Lead]]:
    pages: list[Window[Lead]] = []
    cursor = None
    while True:
        page = await queries.list_page(
            session, workspace_id, where, sort=sort, limit=limit, cursor=cursor
        )
        pages.append(page)
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def _ids(page: Window[Lead]) -> list[uuid.UUID]:
    return [lead.id for lead in page.items]


async def test_filters_narrow_the_list(client, runtime, owner) -> None:
    await _seed(
        runtime,
        owner.workspace_id,
        [
            {"status": LeadStatus.enriched, "score": 80, "verification": VerificationStatus.valid},
            {"status": LeadStatus.failed, "score": 20, "domain": "globex.com"},
            {"status": LeadStatus.new, "verification": VerificationStatus.risky,
             "company": "Initech"},
        ],
    )  # fmt: skip

    async def emails(**params) -> list[str]:
        response = await client.get("/v1/leads", params=params)
        assert response.status_code == 200, response.text
        return [item["email"] for item in response.json()["items"]]

    assert await emails(status="failed") == ["p1@globex.com"]
    assert await emails(verification="risky") == ["p2@acme.com"]
    assert await emails(score_min=50) == ["p0@acme.com"]
    assert await emails(score_max=50) == ["p1@globex.com"]
    assert await emails(company_domain="GLOBEX.com") == ["p1@globex.com"]
    assert await emails(q="initech") == ["p2@acme.com"]
    assert await emails(sort="score") == ["p0@acme.com", "p1@globex.com", "p2@acme.com"]
    assert await emails(sort="oldest") == ["p0@acme.com", "p1@globex.com", "p2@acme.com"]
    bad = await client.get("/v1/leads", params={"cursor": "nonsense"})
    assert bad.status_code == 422


async def test_another_workspaces_leads_never_show(client, runtime, other_workspace) -> None:
    await _seed(runtime, other_workspace.workspace_id, [{"score": 10}])
    assert (await client.get("/v1/leads", params={"sort": "score"})).json()["items"] == []


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    scores=st.lists(st.one_of(st.none(), st.integers(0, 5)), min_size=0, max_size=14),
    minutes=st.lists(st.integers(0, 3), min_size=14, max_size=14),
    limit=st.integers(1, 4),
    sort=st.sampled_from(["newest", "oldest", "score", "score_asc"]),
)
async def test_keyset_pages_return_every_row_once_in_order_forwards_and_back(
    runtime, owner, scores, minutes, limit, sort
) -> None:
    workspace_id = owner.workspace_id
    async with runtime.db.session() as session:
        await session.execute(Lead.__table__.delete())
    specs = [{"score": s, "minute": minutes[i]} for i, s in enumerate(scores)]
    ids = await _seed(runtime, workspace_id, specs)
    async with runtime.db.session() as session:
        pages = await _pages(session, workspace_id, LeadFilter(), sort, limit)
        # Walking back from each page gives the page before it, and forward again this one.
        assert pages[0].prev_cursor is None
        for k in range(len(pages) - 1, 0, -1):
            assert pages[k].prev_cursor is not None
            back = await queries.list_page(
                session, workspace_id, LeadFilter(), sort=sort, limit=limit,
                cursor=pages[k].prev_cursor,
            )  # fmt: skip
            assert _ids(back) == _ids(pages[k - 1])
            assert (back.prev_cursor is None) == (k == 1)
            again = await queries.list_page(
                session, workspace_id, LeadFilter(), sort=sort, limit=limit,
                cursor=back.next_cursor,
            )  # fmt: skip
            assert _ids(again) == _ids(pages[k])
    seen = [lead for page in pages for lead in page.items]
    assert sorted(lead.id for lead in seen) == sorted(ids)
    if sort in ("newest", "oldest"):
        keys = [(lead.created_at, lead.id) for lead in seen]
        assert keys == sorted(keys, reverse=sort == "newest")
    else:
        scored = [lead for lead in seen if lead.score is not None]
        assert seen[: len(scored)] == scored  # unscored leads come last
        keys = [(lead.score, lead.id) for lead in scored]
        assert keys == sorted(keys, reverse=sort == "score")


@pytest.mark.parametrize("cap", [2])
async def test_counts_are_capped_then_exact_from_the_background(
    runtime, owner, cap, monkeypatch
) -> None:
    monkeypatch.setattr(queries, "COUNT_CAP", cap)
    await _seed(runtime, owner.workspace_id, [{"status": LeadStatus.new}] * 4)
    async with runtime.db.session() as session:
        first = await queries.status_counts(session, owner.workspace_id)
    assert first["counts"]["new"] == cap + 1 and first["capped"] == ["new"]
    assert not first["exact"]
    from tests.support.jobs import drain

    await drain(runtime)
    async with runtime.db.session() as session:
        second = await queries.status_counts(session, owner.workspace_id)
    assert second["counts"]["new"] == 4 and second["exact"]


async def test_the_search_matches_word_and_email_prefixes_from_its_index(runtime, owner) -> None:
    ws = owner.workspace_id
    people = [
        ("ada@lovelace-analytics.com", "Ada", "Lovelace", "Lovelace Analytics", "Chief Scientist"),
        ("grace.h@navy.example", "Grace", "O'Brien-Hopper", "US Navy", "Rear Admiral"),
        ("ALAN@Turing-Labs.co.uk", "Alan", "Turing", "Turing Labs", None),
        ("no-name@globex.example", None, None, None, None),
        ("jo_ann@zeta.example", None, None, None, None),
    ]
    async with runtime.db.session() as session:
        for email, first, last, company, title in people:
            await make_lead(
                session, ws, email=email, first_name=first, last_name=last,
                company_name=company, title=title,
            )  # fmt: skip
        await make_lead(session, ws, email=None)  # nothing to match
        await session.commit()

        async def found(q: str) -> list[str]:
            page = await queries.list_page(session, ws, LeadFilter(q=q), sort="oldest", limit=50)
            return [lead.email or "" for lead in page.items]

        assert await found("ada") == ["ada@lovelace-analytics.com"]  # first name
        assert await found("LOVEL") == ["ada@lovelace-analytics.com"]  # last name, any case
        assert await found("analyt") == ["ada@lovelace-analytics.com"]  # a later company word
        assert await found("o'brien") == ["grace.h@navy.example"]  # a word as written
        assert await found("admiral") == ["grace.h@navy.example"]  # the title
        assert await found("grace.h@") == ["grace.h@navy.example"]  # the start of the email
        assert await found("grace.") == ["grace.h@navy.example"]
        assert await found("alan@turing") == ["ALAN@Turing-Labs.co.uk"]
        assert await found("turing-labs.co") == ["ALAN@Turing-Labs.co.uk"]  # its domain
        assert await found("@globex") == ["no-name@globex.example"]
        assert await found("ada lovelace") == ["ada@lovelace-analytics.com"]  # every word
        assert await found("ada turing") == []
        assert await found("ovelace") == []  # a prefix, not a contains-match
        assert await found("jo_") == ["jo_ann@zeta.example"]  # "_" and "%" are characters
        assert await found("jo%") == await found("joxann") == []
        assert len(await found("  ")) == 6  # a blank search filters nothing
        assert await found("a\\b ' '' :* & | ! _ %") == []  # literal lexemes and patterns

        # The query's expressions are the indexes': with the table scans off, the plan reads both.
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        await session.execute(text("SET LOCAL enable_indexscan = off"))
        query = select(Lead.id).where(*queries.conditions(LeadFilter(q="ada")))
        compiled = query.compile(dialect=session.bind.dialect)
        conn = await session.connection()
        plan = (await conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params)).all()
        lines = "\n".join(row[0] for row in plan)
        assert "ix_leads_search" in lines and "ix_leads_workspace_email_prefix" in lines, lines


@given(prefix=st.text(max_size=4), other=st.text(max_size=6))
def test_the_email_range_holds_exactly_the_strings_that_start_with_the_prefix(
    prefix: str, other: str
) -> None:
    after = queries._after_prefix(prefix)
    for candidate in (prefix + other, other):
        key = candidate.encode("utf-8", "surrogatepass")
        inside = prefix.encode("utf-8", "surrogatepass") <= key and (
            after is None or key < after.encode("utf-8", "surrogatepass")
        )
        assert inside == candidate.startswith(prefix)

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from leadflood.imports import pipeline as import_pipeline
from leadflood.imports import service as importing
from leadflood.imports import validation
from leadflood.leads import export, lists
from leadflood.leads.columns import EXPORT_COLUMNS
from leadflood.leads.schemas import LeadFilter, ListCreate
from leadflood.models import AuditEvent, Lead, LeadStatus, OnDuplicate
from leadflood.runtime import Runtime
from tests.factories import make_lead, make_workspace

# The fields an import writes (the rest are read-only columns of the export).
IMPORTED = (
    "email", "first_name", "last_name", "title", "seniority", "department", "phone",
    "linkedin_url", "company_name", "company_domain", "company_industry", "company_size",
    "city", "country", "timezone", "custom_fields",
)  # fmt: skip


def _rows(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body)))


async def test_export_streams_every_column_for_the_filter_or_the_picked(client, runtime, owner):
    async with runtime.db.session() as session:
        a = await make_lead(
            session, owner.workspace_id, email="a@acme.com", first_name="Ann", score=80,
            status=LeadStatus.enriched, custom_fields={"plan": "pro"},
        )  # fmt: skip
        b = await make_lead(
            session, owner.workspace_id, email="b@beta.com", score=20,
            custom_fields={"seats": "4", "tier, quoted": 'say "hi"'},
        )  # fmt: skip
        other = await make_workspace(session)
        await make_lead(session, other.id, email="x@other.com", custom_fields={"secret": "x"})

    response = await client.get("/v1/leads/export")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.headers["x-total-count"] == "2"
    header = next(csv.reader(io.StringIO(response.text)))
    assert header == [*EXPORT_COLUMNS, "custom:plan", "custom:seats", "custom:tier, quoted"]
    rows = sorted(_rows(response.text), key=lambda r: r["email"])
    assert [r["email"] for r in rows] == ["a@acme.com", "b@beta.com"]
    assert rows[0]["id"] == str(a.id) and rows[0]["custom:plan"] == "pro"
    assert rows[0]["status"] == "enriched" and rows[0]["score"] == "80"
    assert rows[1]["custom:tier, quoted"] == 'say "hi"' and rows[1]["custom:plan"] == ""

    scored = await client.get("/v1/leads/export", params={"score_min": 50})
    assert [r["email"] for r in _rows(scored.text)] == ["a@acme.com"]
    picked = await client.get("/v1/leads/export", params={"lead_id": [str(b.id)]})
    assert [r["email"] for r in _rows(picked.text)] == ["b@beta.com"]
    bad = await client.get("/v1/leads/export", params={"score_min": 500})
    assert bad.status_code == 422

    async with runtime.db.session() as session:
        events = (
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "leads.exported"))
        ).all()
    assert [e.details["count"] for e in events] == [2, 1, 1]


async def test_a_leads_tags_and_lists_are_exported(runtime: Runtime, owner) -> None:
    async with runtime.db.session() as session:
        tagged = await make_lead(session, owner.workspace_id, email="t@a.com", tags=["q3", "vip"])
        plain = await make_lead(session, owner.workspace_id, email="p@acme.com")
        for name in ("Webinar", "Conference"):
            made = await lists.create(session, owner.workspace_id, ListCreate(name=name), by=None)
            await lists.add_ids(session, owner.workspace_id, made.id, [tagged.id])
    body = b"".join(
        [
            chunk
            async for chunk in export.stream_csv(
                runtime.db, owner.workspace_id, export.Selection(LeadFilter())
            )
        ]
    )
    rows = {row["id"]: row for row in _rows(body.decode())}
    assert (rows[str(tagged.id)]["tags"], rows[str(tagged.id)]["lists"]) == (
        "q3; vip",
        "Conference; Webinar",
    )
    assert (rows[str(plain.id)]["tags"], rows[str(plain.id)]["lists"]) == ("", "")


async def test_export_reads_in_batches(runtime: Runtime):
    async with runtime.db.session() as session:
        workspace = await make_workspace(session)
        for n in range(7):
            await make_lead(session, workspace.id, email=f"p{n}@acme.com")
    seen: list[int] = []
    chunks = [
        chunk
        async for chunk in export.stream_csv(
            runtime.db, workspace.id, export.Selection(LeadFilter()), batch=3, on_rows=seen.append
        )
    ]
    assert seen == [3, 3, 1]
    assert len(chunks) == 4  # the header, then one chunk per batch
    assert len(_rows(b"".join(chunks).decode())) == 7


# Names include the placeholder words ("null", "None", "Undefined"): an export writes a missing
# value as an empty cell, so its import reads them as names. Its symbols ("n/a", "-", "#N/A")
# are no value in any file.
NAME = (
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzéüñ' -", min_size=1, max_size=20)
    .map(str.strip)
    .filter(bool)
    .filter(lambda name: name.casefold() not in validation.EXPORT_NULL_MARKERS)
) | st.sampled_from(["None", "null", "Undefined", "(null)"])
LEAD = st.fixed_dictionaries(
    {
        "first_name": st.none() | NAME,
        "last_name": st.none() | NAME,
        "title": st.none() | st.sampled_from(["CTO", "Head of Sales, EMEA", 'VP "Growth"']),
        "seniority": st.none() | st.sampled_from(["vp", "director"]),
        "department": st.none() | st.sampled_from(["sales", "engineering"]),
        "phone": st.none() | st.sampled_from(["+14155550123", "+442079460958"]),
        "company_name": st.none() | st.sampled_from(["Acme", "Beta; Inc.", "Über GmbH"]),
        "company_domain": st.none() | st.sampled_from(["acme.com", "beta.io"]),
        "company_industry": st.none() | st.sampled_from(["Software", "Retail"]),
        "company_size": st.none() | st.integers(1, 100_000),
        "city": st.none() | st.sampled_from(["Berlin", "São Paulo"]),
        "country": st.none() | st.sampled_from(["DE", "BR", "US"]),
        "timezone": st.none() | st.sampled_from(["Europe/Berlin", "America/New_York"]),
        "custom_fields": st.dictionaries(
            st.sampled_from(["plan", "seats", "notes", "status", "title"]),
            st.text(alphabet='abc xyz,"\n;1', min_size=1, max_size=12).filter(str.strip),
            max_size=3,
        ),
    }
)


@settings(
    max_examples=8,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(people=st.lists(LEAD, min_size=1, max_size=6), linkedin=st.booleans())
async def test_every_exported_row_imports_back_as_the_same_lead(
    runtime, owner, tmp_path: Path, people, linkedin
):
    async with runtime.db.session() as session:
        await session.execute(delete(Lead).where(Lead.workspace_id == owner.workspace_id))
        for n, person in enumerate(people):
            person = {**person, "custom_fields": {k: v.strip() for k, v in
                                                  person["custom_fields"].items()}}  # fmt: skip
            # An email for most; a LinkedIn profile alone identifies the others.
            email = None if linkedin and n % 2 else f"person{n}.{uuid.uuid4().hex[:6]}@acme.com"
            profile = f"https://www.linkedin.com/in/person-{uuid.uuid4().hex[:8]}"
            await make_lead(
                session, owner.workspace_id, email=email, linkedin_url=profile, **person
            )
    async with runtime.db.session() as session:
        before = {
            lead.linkedin_url: {name: getattr(lead, name) for name in IMPORTED}
            for lead in await session.scalars(
                select(Lead).where(Lead.workspace_id == owner.workspace_id)
            )
        }
    body = b"".join(
        [
            chunk
            async for chunk in export.stream_csv(
                runtime.db, owner.workspace_id, export.Selection(LeadFilter())
            )
        ]
    )
    path = tmp_path / f"{uuid.uuid4()}.csv"
    path.write_bytes(body)

    async with runtime.db.session() as session:
        await session.execute(delete(Lead).where(Lead.workspace_id == owner.workspace_id))
        imp = await importing.create_from_path(
            session, runtime.settings, owner.workspace_id, path, on_duplicate=OnDuplicate.skip
        )
    imp = await import_pipeline.run(runtime.db, runtime.settings, imp.id)
    assert (imp.created, imp.rejected, imp.skipped) == (len(people), 0, 0), imp.error

    async with runtime.db.session() as session:
        after = {
            lead.linkedin_url: {name: getattr(lead, name) for name in IMPORTED}
            for lead in await session.scalars(
                select(Lead).where(Lead.workspace_id == owner.workspace_id)
            )
        }
    # Every value comes back as it was. A gap may be filled: the import infers a company
    # domain from a work email and a time zone from a phone or a country, as for any file.
    inferred = {"company_domain", "timezone"}
    assert set(after) == set(before)
    for key, fields in before.items():
        kept = {n: v for n, v in after[key].items() if not (n in inferred and fields[n] is None)}
        assert kept == {n: v for n, v in fields.items() if n in kept}

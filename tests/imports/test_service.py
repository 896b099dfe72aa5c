from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from leadflood.imports import pipeline as import_pipeline
from leadflood.imports import service as importing
from leadflood.models import ImportState, Lead, LeadImport, LeadImportRejection, OnDuplicate
from leadflood.runtime import Runtime
from tests.support.accounts import Account

HEADER = "First Name,Last Name,Email,Company,Website,Title,Country,Mobile Phone\r\n"


async def run_import(
    runtime: Runtime,
    account: Account,
    path: Path,
    *,
    on_duplicate: str = "skip",
    overrides: dict[str, str | None] | None = None,
    **options: Any,
) -> LeadImport:
    async with runtime.db.session() as session:
        imp = await importing.create_from_path(
            session,
            runtime.settings,
            account.workspace_id,
            path,
            on_duplicate=OnDuplicate(on_duplicate),
            overrides=overrides,
        )
    return await import_pipeline.run(runtime.db, runtime.settings, imp.id, **options)


async def leads_by_email(runtime: Runtime, workspace_id: uuid.UUID) -> dict[str, Lead]:
    async with runtime.db.session() as session:
        rows = await session.scalars(select(Lead).where(Lead.workspace_id == workspace_id))
        return {(lead.email or lead.linkedin_url or "").lower(): lead for lead in rows}


def write(tmp_path: Path, content: bytes, name: str = "leads.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def assert_accounted(imp: LeadImport) -> None:
    assert imp.state == ImportState.completed, imp.error
    assert imp.created + imp.updated + imp.skipped + imp.rejected == imp.rows_read


async def test_a_messy_export_with_bom_semicolons_quoted_newlines_and_crlf(
    runtime, owner, tmp_path
):
    content = (
        "\ufeffFirst Name;Last Name;Email;Company;Title;Notes\r\n"
        'Ada;Lovelace;ada@analytical.io;Analytical;"Chief\r\nEngineer";"multi\r\nline; note"\r\n'
        "Grace;Hopper;GRACE@navy.example.com;Navy;Admiral;\r\n"
        "\r\n"
        "Alan;Turing;not-an-email;Bletchley;;\r\n"
        "Ada;L.;Ada@Analytical.io;Analytical;;dup of the first\r\n"
    ).encode()
    imp = await run_import(runtime, owner, write(tmp_path, content))
    assert_accounted(imp)
    assert (imp.rows_read, imp.created, imp.skipped, imp.rejected) == (4, 2, 1, 1)
    leads = await leads_by_email(runtime, owner.workspace_id)
    assert set(leads) == {"ada@analytical.io", "grace@navy.example.com"}
    ada = leads["ada@analytical.io"]
    assert ada.title == "Chief\r\nEngineer"
    assert ada.last_name == "Lovelace"  # first occurrence in the file wins
    assert ada.custom_fields == {"notes": "multi\r\nline; note"}
    assert ada.source == "import" and ada.company_id is not None


async def test_a_latin1_file_keeps_its_accents(runtime, owner, tmp_path):
    content = "Prénom,Nom,Email,Entreprise\nJosé,Müller,jose@firma.de,Grüne Straße GmbH\n"
    imp = await run_import(runtime, owner, write(tmp_path, content.encode("latin-1")))
    assert_accounted(imp)
    lead = (await leads_by_email(runtime, owner.workspace_id))["jose@firma.de"]
    assert (lead.first_name, lead.last_name) == ("José", "Müller")
    assert lead.company_name == "Grüne Straße GmbH"


def _file(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["First Name", "Last Name", "Email", "Company", "Title", "LinkedIn URL"])
    writer.writerows(rows)
    return out.getvalue().encode()


async def test_duplicates_across_chunks_and_against_the_workspace_skip_then_update(
    runtime, owner, tmp_path
):
    first = _file([["Old", "Name", "kept@acme.com", "Acme", "CEO", ""]])
    await run_import(runtime, owner, write(tmp_path, first, "first.csv"))
    rows = [
        ["New", "Name", "KEPT@acme.com", "Acme", "CTO", ""],  # exists in the workspace
        ["Bea", "One", "bea@acme.com", "Acme", "VP", ""],
        ["Bea", "Two", "bea@acme.com", "Acme", "VP", ""],  # same chunk
        ["Cy", "One", "cy@acme.com", "Acme", "", ""],
        ["Bea", "Three", "bea@acme.com", "Acme", "", ""],  # a later chunk
        ["Li", "One", "", "Acme", "", "https://linkedin.com/in/li-one"],
        ["Li", "Two", "", "Acme", "", "https://www.linkedin.com/in/li-one/"],  # same profile
        ["Bad", "Row", "nope@", "Acme", "", ""],
    ]
    second = write(tmp_path, _file(rows), "second.csv")
    skip = await run_import(runtime, owner, second, chunk_rows=3)
    assert_accounted(skip)
    assert (skip.created, skip.updated, skip.skipped, skip.rejected) == (3, 0, 4, 1)
    leads = await leads_by_email(runtime, owner.workspace_id)
    assert leads["kept@acme.com"].title == "CEO"
    assert leads["bea@acme.com"].last_name == "One"
    assert "https://www.linkedin.com/in/li-one" in leads

    update = await run_import(runtime, owner, second, on_duplicate="update", chunk_rows=3)
    assert_accounted(update)
    # Every person exists now: each one's first row updates it; later rows are in-file repeats.
    assert (update.created, update.updated, update.skipped, update.rejected) == (0, 4, 3, 1)
    leads = await leads_by_email(runtime, owner.workspace_id)
    assert leads["kept@acme.com"].title == "CTO"
    assert leads["kept@acme.com"].first_name == "New"
    assert leads["bea@acme.com"].last_name == "One"  # not "Two" nor "Three"
    assert leads["li-one" and "https://www.linkedin.com/in/li-one"].last_name == "One"
    async with runtime.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Lead)) == 4


async def test_a_known_person_after_chunks_of_new_ones_is_skipped_or_updated_not_doubled(
    runtime, owner, tmp_path
):
    # Chunks of only new people are inserted without ON CONFLICT first; the chunk that meets
    # a known address must fall back to the upsert, undoing its own partial insert.
    await run_import(
        runtime,
        owner,
        write(tmp_path, _file([["Old", "K", "known@acme.com", "Acme", "CEO", ""]]), "first.csv"),
    )
    rows = [[f"P{n}", "New", f"p{n}@acme.com", "Acme", "VP", ""] for n in range(7)]
    rows.insert(3, ["New", "K", "KNOWN@acme.com", "Acme", "CTO", ""])  # second chunk of two
    second = write(tmp_path, _file(rows), "second.csv")
    skip = await run_import(runtime, owner, second, chunk_rows=2)
    assert_accounted(skip)
    assert (skip.created, skip.updated, skip.skipped, skip.rejected) == (7, 0, 1, 0)
    leads = await leads_by_email(runtime, owner.workspace_id)
    assert leads["known@acme.com"].title == "CEO"
    assert sorted(leads) == sorted(["known@acme.com", *(f"p{n}@acme.com" for n in range(7))])

    update = await run_import(runtime, owner, second, on_duplicate="update", chunk_rows=2)
    assert_accounted(update)
    assert (update.created, update.updated, update.skipped, update.rejected) == (0, 8, 0, 0)
    leads = await leads_by_email(runtime, owner.workspace_id)
    assert leads["known@acme.com"].title == "CTO"
    async with runtime.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Lead)) == 8


async def test_a_company_met_again_in_a_later_chunk_links_its_leads(runtime, owner, tmp_path):
    # Later chunks write only the domains this run has not written yet; their leads must still
    # find the companies earlier chunks created (and the workspace already had).
    await run_import(
        runtime, owner, write(tmp_path, _file([["A", "A", "a@old.io", "Old", "", ""]]), "a.csv")
    )
    rows = [
        ["B", "B", "b@acme.com", "Acme", "", ""],
        ["C", "C", "c@beta.io", "Beta", "", ""],
        ["D", "D", "d@ACME.com", "Acme", "", ""],
        ["E", "E", "e@old.io", "Old", "", ""],
        ["F", "F", "f@beta.io", "Beta", "", ""],
    ]
    imp = await run_import(runtime, owner, write(tmp_path, _file(rows)), chunk_rows=2)
    assert_accounted(imp)
    assert imp.created == 5
    async with runtime.db.session() as session:
        linked = dict(
            (
                await session.execute(
                    text(
                        "SELECT l.email, c.domain FROM leads l "
                        "LEFT JOIN companies c ON c.id = l.company_id "
                        "WHERE l.workspace_id = :ws"
                    ),
                    {"ws": owner.workspace_id},
                )
            ).all()
        )
        companies = await session.scalar(
            text("SELECT count(*) FROM companies WHERE workspace_id = :ws"),
            {"ws": owner.workspace_id},
        )
    assert linked == {
        "a@old.io": "old.io",
        "b@acme.com": "acme.com",
        "c@beta.io": "beta.io",
        "d@ACME.com": "acme.com",
        "e@old.io": "old.io",
        "f@beta.io": "beta.io",
    }
    assert companies == 3


async def test_rejected_rows_download_with_reasons_and_original_values(runtime, owner, tmp_path):
    content = (
        HEADER
        + "Ann,Lee,ann@lee.io,Lee Inc,lee.io,CEO,United States,+1 415 555 0100\r\n"
        + "Bob,Ray,bob@@ray,Ray,ray.io,CTO,France,12\r\n"
        + "Cat,Sun,,,,,,\r\n"
        + "Dan,Fox,dan@fox.io,Fox,fox.io,VP,Neverland,\r\n"
        + "Eve,Ng,eve@ng.io,Ng\r\n"
    ).encode()
    imp = await run_import(runtime, owner, write(tmp_path, content))
    assert_accounted(imp)
    assert (imp.created, imp.rejected, imp.warned) == (2, 3, 1)
    chunks = [c async for c in importing.rejected_csv(runtime.db, runtime.settings, imp)]
    table = list(csv.reader(io.StringIO("".join(chunks))))
    assert table[0][:4] == ["row", "line", "reasons", "details"]
    assert table[0][4:] == HEADER.strip().split(",")
    by_row = {r[0]: r for r in table[1:]}
    assert set(by_row) == {"2", "3", "5"}
    assert by_row["2"][2] == "invalid_email; invalid_phone"
    assert by_row["2"][4:7] == ["Bob", "Ray", "bob@@ray"]
    assert by_row["3"][2] == "missing_identity"
    assert by_row["5"][2] == "ragged_row"
    # Dan's unknown country is left out of his lead, which the warnings file says.
    chunks = [c async for c in importing.warnings_csv(runtime.db, runtime.settings, imp)]
    warned = list(csv.reader(io.StringIO("".join(chunks))))
    assert warned[0] == table[0]
    assert [r[:3] for r in warned[1:]] == [["4", "5", "invalid_country"]]
    assert warned[1][4:7] == ["Dan", "Fox", "dan@fox.io"]
    dan = (await leads_by_email(runtime, owner.workspace_id))["dan@fox.io"]
    assert (dan.country, dan.company_domain) == (None, "fox.io")


async def test_a_crash_after_a_chunk_resumes_without_counting_twice(runtime, owner, tmp_path):
    rows = [[f"P{i}", "X", f"p{i % 7}@acme.com", "Acme", "", ""] for i in range(10)]
    rows.append(["Bad", "Row", "bad@", "Acme", "", ""])
    path = write(tmp_path, _file(rows))
    async with runtime.db.session() as session:
        imp = await importing.create_from_path(session, runtime.settings, owner.workspace_id, path)

    class Crash(Exception):
        pass

    def crash(progress: LeadImport) -> None:
        if progress.rows_read >= 4:
            raise Crash()

    with pytest.raises(Crash):
        await import_pipeline.run(
            runtime.db, runtime.settings, imp.id, chunk_rows=4, on_progress=crash
        )
    async with runtime.db.session() as session:
        halfway = await session.get(LeadImport, imp.id)
        assert halfway is not None
        assert (halfway.state, halfway.rows_read, halfway.created) == (ImportState.running, 4, 4)
    # The retry uses another chunk size: no chunk may straddle the cursor.
    done = await import_pipeline.run(runtime.db, runtime.settings, imp.id, chunk_rows=3)
    assert_accounted(done)
    assert (done.rows_read, done.created, done.skipped, done.rejected) == (11, 7, 3, 1)
    async with runtime.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Lead)) == 7
        rejections = select(func.count()).select_from(LeadImportRejection)
        assert await session.scalar(rejections) == 1
    again = await import_pipeline.run(runtime.db, runtime.settings, imp.id)
    assert (again.rows_read, again.created) == (11, 7)


async def test_validation_in_worker_processes_gives_the_same_accounting(runtime, owner, tmp_path):
    rows = [[f"P{i}", "X", f"p{i % 50}@acme{i % 50 % 3}.com", "Acme", "", ""] for i in range(300)]
    rows += [["No", "Mail", "x@", "", "", ""]] * 5
    path = write(tmp_path, _file(rows))
    imp = await run_import(runtime, owner, path, workers=2, parallel=True, chunk_rows=40)
    assert_accounted(imp)
    assert (imp.rows_read, imp.created, imp.skipped, imp.rejected) == (305, 50, 250, 5)
    async with runtime.db.session() as session:
        companies = await session.scalar(text("SELECT count(*) FROM companies"))
    assert companies == 3


async def test_an_unreadable_file_fails_the_import_with_a_reason(runtime, owner, tmp_path):
    path = write(tmp_path, _file([["A", "B", "a@b.co", "B", "", ""]]))
    async with runtime.db.session() as session:
        imp = await importing.create_from_path(session, runtime.settings, owner.workspace_id, path)
    path.unlink()
    failed = await import_pipeline.run(runtime.db, runtime.settings, imp.id)
    assert failed.state == ImportState.failed
    assert failed.error and "gone" in failed.error


EMAILS = ["ann@acme.com", "bob@acme.com", "cat@globex.io", "dan@initech.co", "eve@acme.com"]
PROFILES = ["https://www.linkedin.com/in/p-one", "https://www.linkedin.com/in/p-two"]
NAMES = [("Ann", "Lee"), ("Bob", "Ray"), ("José", "Müller")]
CELL = st.one_of(
    st.sampled_from(EMAILS),
    st.sampled_from(EMAILS).map(str.upper),
    st.sampled_from(["", "n/a", "x@", "a b@c.com", "@acme.com"]),
)
ROW = st.tuples(
    st.sampled_from(NAMES),
    CELL,
    st.sampled_from(["", "Acme", "Globex"]),
    st.sampled_from(["", *PROFILES, "linkedin.com/company/acme", "not a url"]),
    st.sampled_from(["", "+1 415 555 0100", "12", "+44 20 7946 0958"]),
    st.integers(min_value=0, max_value=9),  # 0: a ragged row
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(ROW, min_size=0, max_size=25),
    existing=st.sets(st.sampled_from(EMAILS + PROFILES), max_size=3),
    on_duplicate=st.sampled_from(["skip", "update"]),
    chunk_rows=st.integers(min_value=1, max_value=6),
    delimiter=st.sampled_from([",", ";"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
)
async def test_every_row_read_is_created_updated_skipped_or_rejected(
    runtime, owner, tmp_path, rows, existing, on_duplicate, chunk_rows, delimiter, encoding
):
    async with runtime.db.session() as session:
        for table in ("lead_imports", "leads", "companies"):
            await session.execute(text(f"DELETE FROM {table}"))
        for identity in existing:
            email = identity if "@" in identity else None
            linkedin = None if email else identity
            session.add(Lead(workspace_id=owner.workspace_id, email=email, linkedin_url=linkedin))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["First Name", "Last Name", "Email", "Company", "LinkedIn URL", "Phone"])
    for (first, last), email, company, linkedin, phone, shape in rows:
        cells = [first, last, email, company, linkedin, phone]
        writer.writerow(cells[:4] if shape == 0 else cells)
    path = write(tmp_path, out.getvalue().encode(encoding), f"{uuid.uuid4()}.csv")

    imp = await run_import(runtime, owner, path, on_duplicate=on_duplicate, chunk_rows=chunk_rows)

    assert_accounted(imp)
    assert imp.rows_read == len(rows)
    async with runtime.db.session() as session:
        leads = await session.scalar(select(func.count()).select_from(Lead))
        rejections = await session.scalar(select(func.count()).select_from(LeadImportRejection))
    assert leads == len(existing) + imp.created
    assert rejections == imp.rejected
    if on_duplicate == "skip":
        assert imp.updated == 0

"""The import keeps every lead it can: warnings instead of rejections for optional values, the
default country for national phone numbers, provider person ids, and files that are not text."""

from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text, update

from leadflood.imports import service as importing
from leadflood.models import (
    JobExecution,
    Lead,
    LeadImportRejection,
    LeadImportWarning,
    LeadStatus,
    Workspace,
)
from tests.imports.test_service import assert_accounted, leads_by_email, run_import, write
from tests.support.accounts import browser_login, csrf_of
from tests.support.jobs import drain
from tests.support.processes import run_cli

APOLLO = Path(__file__).parent / "fixtures" / "apollo_export.csv"


async def set_default_country(runtime, workspace_id: uuid.UUID, country: str | None) -> None:
    async with runtime.db.session() as session:
        await session.execute(
            update(Workspace).where(Workspace.id == workspace_id).values(default_country=country)
        )


def table_of(chunks: list[str], delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(chunks)), delimiter=delimiter))


async def test_an_apollo_export_keeps_every_row_with_a_valid_email(runtime, owner, tmp_path):
    imp = await run_import(runtime, owner, APOLLO)
    assert_accounted(imp)
    # 15 rows: one has an email that is not an address; every other one becomes a lead.
    assert (imp.rows_read, imp.created, imp.rejected) == (15, 14, 1)
    leads = await leads_by_email(runtime, owner.workspace_id)
    phones = {key.split("@")[0]: lead.phone for key, lead in leads.items()}
    assert phones == {
        "olivia.bennett": "+447911123456",  # the mobile before the first and corporate phones
        "marcus.reed": "+14155552671",  # (415) 555-2671, read as the row's country's
        "lena.schulz": "+49301234567",  # 030 1234567 with Country=Germany
        "camille.durand": "+33612345678",  # 06 12 34 56 78 with Country=France
        "daniel.park": "+12125550147",  # its extension kept beside it
        "priya.nair": "+16505550199",  # junk mobile: the corporate line instead
        "james.walker": "+442079460018",
        "sanne.devries": "+31612345678",
        "lucia.garcia": "+34612345678",
        "tobias.huber": "+49891234567",  # Excel's leading apostrophe
        "emily.chen": "+12065550132",
        "noah.fischer": None,  # a national number and no country: left out, with a warning
        "https://www.linkedin.com/in/aisha-khan-ex13": "+971501234567",  # no email: her profile
        "chloe.martin": "+33472103030",
    }
    daniel = leads["daniel.park@litware.example.com"]
    assert daniel.custom_fields["phone_extension"] == "204"
    olivia = leads["olivia.bennett@northwind.example.com"]
    assert olivia.company_name == "Northwind"  # "Company Name for Emails" before "Company"
    assert olivia.custom_fields["company"] == "Northwind Traders Ltd"
    assert olivia.custom_fields["first_phone"] == "+442079460958"
    assert olivia.provider_person_id == "66f1a2b3c4d5e6f7a8b9c0d1"
    assert leads["emily.chen@fourthcoffee.example.com"].company_name == "Fourth Coffee"
    assert leads["priya.nair@adatum.example.com"].company_size is None  # "lots"

    assert imp.warned == 2  # Priya (junk mobile, "lots" of employees) and Noah (phones)
    chunks = [c async for c in importing.warnings_csv(runtime.db, runtime.settings, imp)]
    warned = {row[0]: row for row in table_of(chunks)[1:]}
    assert set(warned) == {"6", "12"}
    assert warned["6"][2] == "invalid_phone; invalid_employee_count"
    assert "call after 5pm" in warned["6"][3]
    assert warned["12"][2] == "invalid_phone; invalid_phone"
    assert "no country to read a national number" in warned["12"][3]


async def test_the_workspace_default_country_reads_national_numbers(runtime, owner, tmp_path):
    await set_default_country(runtime, owner.workspace_id, "FR")
    imp = await run_import(runtime, owner, APOLLO)
    assert_accounted(imp)
    noah = (await leads_by_email(runtime, owner.workspace_id))[
        "noah.fischer@blueyonder.example.com"
    ]
    assert noah.phone == "+33612345678"  # 0612345678 on a row without a country
    assert imp.warned == 2  # Noah's "12" is still no number; Priya unchanged
    # The row's own country comes before the default: Lena's Berlin number stays German.
    lena = (await leads_by_email(runtime, owner.workspace_id))["lena.schulz@fabrikam.example.de"]
    assert lena.phone == "+49301234567"


async def test_a_person_id_finds_the_same_person_again(runtime, owner, tmp_path):
    header = "First Name,Last Name,Company,Email,Apollo Contact Id\r\n"
    first = header + (
        "Ann,Lee,Lee Inc,,aa01\r\nBob,Ray,Ray Co,,bb02\r\nCy,Fox,Fox,cy@fox.io,cc03\r\n"
        "Bob,Ray,Ray Co,,bb02\r\n"
    )
    imp = await run_import(runtime, owner, write(tmp_path, first.encode(), "a.csv"))
    assert_accounted(imp)
    assert (imp.created, imp.skipped) == (3, 1)
    # Again, with new titles: the same three people, found by their ids (Cy by email).
    again = header.replace("\r\n", ",Title\r\n") + (
        "Ann,Lee,Lee Inc,,aa01,CEO\r\nBob,Ray,Ray Co,,bb02,CTO\r\nCy,Fox,Fox,cy@fox.io,cc03,VP\r\n"
        # Another email with Cy's id: a new lead, which leaves the id to Cy.
        "Di,Fox,Fox,di@fox.io,cc03,\r\n"
        # Someone new, known by the id alone.
        "Ed,Ng,Ng,,ee05,\r\n"
    )
    imp = await run_import(
        runtime, owner, write(tmp_path, again.encode(), "b.csv"), on_duplicate="update"
    )
    assert_accounted(imp)
    assert (imp.created, imp.updated, imp.skipped) == (2, 3, 0)
    async with runtime.db.session() as session:
        rows = (
            await session.execute(
                select(Lead.first_name, Lead.title, Lead.provider_person_id, Lead.source)
                .where(Lead.workspace_id == owner.workspace_id)
                .order_by(Lead.first_name)
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("Ann", "CEO", "aa01", "import"),
        ("Bob", "CTO", "bb02", "import"),
        ("Cy", "VP", "cc03", "import"),
        ("Di", None, None, "import"),
        ("Ed", None, "ee05", "import"),
    ]


async def test_person_ids_shared_inside_one_chunk_do_not_fail_it(runtime, owner, tmp_path):
    content = (
        "Email,LinkedIn URL,Person Id,First Name\r\n"
        "a@x.io,,p1,A\r\nb@x.io,,p1,B\r\n"  # two emails, one id: the first keeps it
        ",linkedin.com/in/c,p2,C\r\n,linkedin.com/in/d,p2,D\r\n"  # two profiles, one id
        ",,p2,E\r\n"  # the id's own row keeps it
    )
    imp = await run_import(runtime, owner, write(tmp_path, content.encode()))
    assert_accounted(imp)
    async with runtime.db.session() as session:
        ids = dict(
            (
                await session.execute(
                    select(Lead.first_name, Lead.provider_person_id).where(
                        Lead.workspace_id == owner.workspace_id
                    )
                )
            ).all()
        )
    assert ids == {"A": "p1", "B": None, "C": None, "D": None, "E": "p2"}


async def test_a_row_with_nul_bytes_is_rejected_with_a_reason(runtime, owner, tmp_path):
    content = b"Email,Name\r\na@x.io,Ann\r\nb@x.io,B\x00b\r\nc@x.io,Cy\r\n"
    imp = await run_import(runtime, owner, write(tmp_path, content))
    assert_accounted(imp)
    assert (imp.created, imp.rejected) == (2, 1)
    chunks = [c async for c in importing.rejected_csv(runtime.db, runtime.settings, imp)]
    rejected = table_of(chunks)
    assert rejected[1][:3] == ["2", "3", "nul_in_row"]
    assert rejected[1][4:] == ["b@x.io", "Bb"]


BINARY = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(range(256)) * 20


async def test_a_binary_file_is_refused_by_the_api_and_the_page(client, anon_client, owner):
    answer = await client.post("/v1/imports", files={"file": ("leads.csv", BINARY, "text/csv")})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "binary_file"
    # A text file whose header holds a NUL is no CSV either (its columns cannot be named).
    answer = await client.post(
        "/v1/imports", files={"file": ("leads.csv", b"Em\x00ail\na@x.io\n", "text/csv")}
    )
    assert answer.json()["error"]["code"] == "binary_file"

    await browser_login(anon_client, owner)
    token = csrf_of((await anon_client.get("/imports/new")).text)
    page = await anon_client.post(
        "/imports",
        data={"csrf_token": token},
        files={"file": ("leads.csv", BINARY, "text/csv")},
    )
    assert page.status_code == 422
    assert "The file is not text" in page.text


async def test_warnings_through_the_api_and_the_import_page(client, anon_client, runtime, owner):
    content = (
        b"Email;Phone;Time Zone;Employees\r\n"
        b"a@acme.io;+1 415 555 2671;Europe/Paris;51-200\r\n"
        b"b@acme.io;030 1234567;Mars/Olympus;many\r\n"
        b"c@acme.io;;;\r\n"
    )
    created = await client.post("/v1/imports", files={"file": ("w.csv", content, "text/csv")})
    assert created.status_code == 201, created.text
    body = created.json()
    sample = body["preview"]["sample"]
    assert [row["ok"] for row in sample] == [True, True, True]
    assert [r["code"] for r in sample[1]["reasons"]] == [
        "invalid_phone",
        "invalid_timezone",
        "invalid_employee_count",
    ]
    assert body["preview"]["default_country"] is None

    # Setting the workspace's default country reads the Berlin number.
    patched = await client.patch("/v1/workspaces/current", json={"default_country": "de"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["default_country"] == "DE"
    bad = await client.patch("/v1/workspaces/current", json={"default_country": "Germany"})
    assert bad.status_code == 422
    preview = (await client.get(f"/v1/imports/{body['id']}/preview")).json()
    assert [r["code"] for r in preview["sample"][1]["reasons"]] == [
        "invalid_timezone",
        "invalid_employee_count",
    ]
    assert preview["sample"][1]["lead"]["phone"] == "+49301234567"

    assert (await client.post(f"/v1/imports/{body['id']}/start")).status_code == 202
    await drain(runtime)
    done = (await client.get(f"/v1/imports/{body['id']}")).json()
    counts = {k: done[k] for k in ("rows_read", "created", "updated", "skipped", "rejected")}
    assert counts == {"rows_read": 3, "created": 3, "updated": 0, "skipped": 0, "rejected": 0}
    assert done["warned"] == 1
    download = await client.get(f"/v1/imports/{body['id']}/warnings.csv")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(download.text), delimiter=";"))
    assert table[0] == ["row", "line", "reasons", "details", "Email", "Phone", "Time Zone",
                        "Employees"]  # fmt: skip
    assert table[1][:3] == ["2", "3", "invalid_timezone; invalid_employee_count"]
    assert table[1][4:] == ["b@acme.io", "030 1234567", "Mars/Olympus", "many"]

    await browser_login(anon_client, owner)
    page = await anon_client.get(f"/imports/{body['id']}")
    assert page.status_code == 200
    assert 'data-count="warned">1<' in page.text
    assert f"/v1/imports/{body['id']}/warnings.csv" in page.text
    assert "not enriched automatically" in page.text


async def test_the_mapping_page_sets_the_default_country(anon_client, runtime, owner):
    await browser_login(anon_client, owner)
    token = csrf_of((await anon_client.get("/imports/new")).text)
    uploaded = await anon_client.post(
        "/imports",
        data={"csrf_token": token},
        files={"file": ("m.csv", b"Email,Phone\na@acme.io,06 12 34 56 78\n", "text/csv")},
    )
    assert uploaded.status_code == 303, uploaded.text
    page = await anon_client.get(uploaded.headers["location"])
    assert "Workspace default country" in page.text and "invalid_phone" in page.text
    saved = await anon_client.post(
        uploaded.headers["location"] + "/default-country",
        data={"csrf_token": csrf_of(page.text), "default_country": "FR"},
    )
    assert saved.status_code == 303, saved.text
    page = await anon_client.get(uploaded.headers["location"])
    assert "+33612345678" in page.text and "invalid_phone" not in page.text
    refused = await anon_client.post(
        uploaded.headers["location"] + "/default-country",
        data={"csrf_token": csrf_of(page.text), "default_country": "Atlantis"},
    )
    assert refused.status_code == 422 and "Choose a country" in refused.text
    async with runtime.db.session() as session:
        workspace = await session.get(Workspace, owner.workspace_id)
        assert workspace is not None and workspace.default_country == "FR"


async def test_the_cli_sets_the_country_and_writes_the_warnings(
    tmp_path, database_url, runtime, owner
):
    shown = run_cli(tmp_path, database_url, "settings", "default-country", "-w", "Acme")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["default_country"] is None
    refused = run_cli(tmp_path, database_url, "settings", "default-country", "Narnia", "-w", "Acme")
    assert refused.returncode == 2 and "validation_error" in refused.stderr
    set_ = run_cli(tmp_path, database_url, "settings", "default-country", "gb", "-w", "Acme")
    assert set_.returncode == 0, set_.stderr
    assert json.loads(set_.stdout)["default_country"] == "GB"

    path = write(tmp_path, b"Email,Mobile,Country\na@x.io,020 7946 0018,\nb@x.io,nope,Mars\n")
    warnings_out = tmp_path / "warnings.csv"
    done = run_cli(
        tmp_path, database_url, "leads", "import", str(path), "-w", "Acme", "--json",
        "--warnings-out", str(warnings_out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert {k: result[k] for k in ("rows", "created", "rejected", "warned")} == {
        "rows": 2,
        "created": 2,
        "rejected": 0,
        "warned": 1,
    }
    assert result["warnings_csv"] == str(warnings_out)
    assert result["enrichment"] == "not_started"
    rows = list(csv.reader(warnings_out.open(encoding="utf-8")))
    assert rows[1][:3] == ["2", "3", "invalid_country; invalid_phone"]
    async with runtime.db.session() as session:
        phone = await session.scalar(select(Lead.phone).where(Lead.email == "a@x.io"))
    assert phone == "+442079460018"


# Each optional column: values that are certainly usable, and certainly not.
GOOD = {
    "Phone": ["+1 415 555 2671", "+49 30 1234567", ""],
    "Time Zone": ["Europe/Paris", "PST", ""],
    "Employees": ["51-200", "1,000+", ""],
    "Website": ["acme.io", "https://www.example.org/", ""],
    "Country": ["France", "DE", ""],
}
BAD = {
    "Phone": ["12", "call me", "+1 000"],
    "Time Zone": ["Mars/Olympus", "UTC+25"],
    "Employees": ["many", "a few"],
    "Website": ["not a site", "http://[::1"],
    "Country": ["EMEA", "Atlantis"],
}
OPTIONAL = list(GOOD)
IDENTITY = st.sampled_from(["email", "bad_email", "linkedin", "bad_linkedin", "none"])


@st.composite
def optional_values(draw: st.DrawFn) -> tuple[dict[str, str], bool]:
    bad = draw(st.sets(st.sampled_from(OPTIONAL)))
    values = {
        column: draw(st.sampled_from(BAD[column] if column in bad else GOOD[column]))
        for column in OPTIONAL
    }
    return values, bool(bad)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(st.tuples(IDENTITY, optional_values()), max_size=20),
    chunk_rows=st.integers(min_value=1, max_value=7),
)
async def test_accounting_holds_and_every_identified_row_is_kept(
    runtime, owner, tmp_path, rows, chunk_rows
):
    async with runtime.db.session() as session:
        for table in ("lead_imports", "leads", "companies"):
            await session.execute(text(f"DELETE FROM {table}"))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    # No name column: a name and a company (from the website) would be an identity of their own.
    writer.writerow(["Email", "LinkedIn URL", *OPTIONAL])
    kept = warned = 0
    for number, (identity, (values, bad)) in enumerate(rows):
        email = {"email": f"p{number}@acme{number}.io", "bad_email": f"p{number}@@acme"}
        linkedin = {"linkedin": f"linkedin.com/in/p{number}", "bad_linkedin": "linkedin.com/x"}
        writer.writerow([email.get(identity, ""), linkedin.get(identity, ""), *values.values()])
        if identity in ("email", "linkedin"):
            kept += 1
            warned += bad
    path = write(tmp_path, out.getvalue().encode(), f"{uuid.uuid4()}.csv")

    imp = await run_import(runtime, owner, path, chunk_rows=chunk_rows)

    assert_accounted(imp)
    assert imp.rows_read == len(rows)
    assert (imp.created, imp.updated, imp.skipped) == (kept, 0, 0)
    assert imp.rejected == len(rows) - kept
    assert imp.warned == warned
    async with runtime.db.session() as session:
        leads = await session.scalar(select(func.count()).select_from(Lead))
        rejections = await session.scalar(select(func.count()).select_from(LeadImportRejection))
        warnings = await session.scalar(select(func.count()).select_from(LeadImportWarning))
    assert (leads, rejections, warnings) == (kept, imp.rejected, imp.warned)


async def test_imported_leads_do_not_claim_an_enrichment_that_never_started(
    anon_client, runtime, owner, tmp_path
):
    imp = await run_import(runtime, owner, APOLLO)
    assert imp.created == 14
    async with runtime.db.session() as session:
        jobs = await session.scalar(
            select(func.count())
            .select_from(JobExecution)
            .where(JobExecution.task_name == "leads.enrich")
        )
        statuses = set((await session.scalars(select(Lead.status))).all())
    assert jobs == 0 and statuses == {LeadStatus.new}
    await browser_login(anon_client, owner)
    page = (await anon_client.get("/leads")).text
    assert "New leads are enriched in the background" not in page
    assert "imported and searched leads only when you choose Enrich" in page

"""`leadflood leads list|show|update|export|delete|erase` as a shell runs them."""

from __future__ import annotations

import csv
import json
import subprocess

from sqlalchemy import func, select

from leadflood.models import AuditEvent, Lead
from tests.factories import make_lead
from tests.support.processes import run_cli


def leadflood(
    tmp_path, database_url, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return run_cli(tmp_path, database_url, *args, "--workspace", "Acme", stdin=stdin)


async def test_list_prints_full_ids_that_show_takes_as_does_an_email(
    tmp_path, database_url, runtime, owner
):
    async with runtime.db.session() as session:
        lead = await make_lead(session, owner.workspace_id, email="Ada@Analytical.io")
    listed = leadflood(tmp_path, database_url, "leads", "list")
    assert listed.returncode == 0, listed.stderr
    assert str(lead.id) in listed.stdout
    for ref in (str(lead.id), str(lead.id)[:8], "ada@analytical.IO"):
        shown = leadflood(tmp_path, database_url, "leads", "show", ref)
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["id"] == str(lead.id)
    missing = leadflood(tmp_path, database_url, "leads", "show", "nobody@nowhere.io")
    assert missing.returncode == 1
    assert "lead_not_found" in missing.stderr


async def test_update_sets_clears_and_refuses_bad_values(tmp_path, database_url, runtime, owner):
    async with runtime.db.session() as session:
        lead = await make_lead(session, owner.workspace_id, email="bo@acme.io", city="Paris")
    done = leadflood(
        tmp_path, database_url, "leads", "update", "bo@acme.io",
        "--set", "title=CTO", "--set", "city=", "--set", "custom.plan=pro",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert (body["title"], body["city"], body["custom_fields"]) == ("CTO", None, {"plan": "pro"})
    bad = leadflood(tmp_path, database_url, "leads", "update", str(lead.id), "--set", "phone=12")
    assert bad.returncode == 2
    assert "phone" in bad.stderr


async def test_export_writes_the_file_delete_asks_once_erase_forgets(
    tmp_path, database_url, runtime, owner
):
    async with runtime.db.session() as session:
        for n in range(3):
            await make_lead(session, owner.workspace_id, email=f"p{n}@acme.io", score=10 * n)
        await make_lead(session, owner.workspace_id, email="keep@other.io", score=90)
    out = tmp_path / "leads.csv"
    exported = leadflood(
        tmp_path, database_url, "leads", "export", "--filter", "score_max=50", "--out", str(out)
    )
    assert exported.returncode == 0, exported.stderr
    assert "Exported 3 leads" in exported.stdout
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert sorted(r["email"] for r in rows) == ["p0@acme.io", "p1@acme.io", "p2@acme.io"]

    refused = leadflood(
        tmp_path, database_url, "leads", "delete", "--filter", "q=acme.io", stdin="n\n"
    )
    assert refused.returncode != 0
    assert "Delete 3 leads?" in refused.stderr
    deleted = leadflood(
        tmp_path, database_url, "leads", "delete", "--filter", "q=acme.io", stdin="y\n"
    )
    assert deleted.returncode == 0, deleted.stderr
    assert "Deleted 3 leads." in deleted.stdout

    erased = leadflood(tmp_path, database_url, "leads", "erase", "keep@other.io", "--yes")
    assert erased.returncode == 0, erased.stderr
    again = leadflood(tmp_path, database_url, "leads", "add", "--email", "KEEP@other.io")
    assert again.returncode == 1
    assert "erased" in again.stderr
    async with runtime.db.session() as session:
        assert await session.scalar(
            select(func.count()).where(Lead.workspace_id == owner.workspace_id)
        ) == 0  # fmt: skip
        actions = set(await session.scalars(select(AuditEvent.action)))
    assert {"leads.exported", "leads.bulk_delete", "lead.erased"} <= actions

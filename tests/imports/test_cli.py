from __future__ import annotations

import csv
import json
import subprocess

from sqlalchemy import func, select

from leadflood.models import Lead
from tests.support.processes import run_cli

CONTENT = (
    "First Name;Last Name;Work Email;Company Name;Job Title;Mobile Phone;Remarks\r\n"
    "Ada;Lovelace;ada@analytical.io;Analytical;CTO;+44 20 7946 0958;vip\r\n"
    "Grace;Hopper;grace@navy.example.com;Navy;Admiral;;\r\n"
    "Alan;Turing;alan@@bletchley;Bletchley;;;\r\n"
    "Ada;L;ADA@analytical.io;Analytical;;;repeat\r\n"
    "Bob;Known;bob@known.io;Known;Boss;;\r\n"
)


def leadflood(tmp_path, database_url, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(tmp_path, database_url, *args)


async def test_leads_import_prints_the_accounting_as_json(tmp_path, database_url, runtime, owner):
    path = tmp_path / "export.csv"
    path.write_text(CONTENT.replace("Bob;Known;bob@known.io;Known;Boss;;\r\n", ""))
    first = leadflood(
        tmp_path, database_url, "leads", "import", str(path), "--workspace", "Acme", "--json"
    )
    assert first.returncode == 0, first.stderr
    counts = json.loads(first.stdout)
    assert {k: counts[k] for k in ("rows", "created", "updated", "skipped", "rejected")} == {
        "rows": 4,
        "created": 2,
        "updated": 0,
        "skipped": 1,
        "rejected": 1,
    }
    assert counts["state"] == "completed"

    path.write_text(CONTENT)
    rejected = tmp_path / "rejected.csv"
    second = leadflood(
        tmp_path,
        database_url,
        "leads",
        "import",
        str(path),
        "-w",
        "Acme",
        "--on-duplicate",
        "update",
        "--map",
        "Remarks=",
        "--map",
        "Job Title=custom:role",
        "--rejected-out",
        str(rejected),
        "--json",
    )
    assert second.returncode == 0, second.stderr
    counts = json.loads(second.stdout)
    assert (
        counts["rows"],
        counts["created"],
        counts["updated"],
        counts["skipped"],
        counts["rejected"],
    ) == (5, 1, 2, 1, 1)
    rows = list(csv.reader(rejected.open(newline=""), delimiter=";"))  # as uploaded
    assert rows[1][:3] == ["3", "4", "invalid_email"]
    async with runtime.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Lead)) == 3
        bob = await session.scalar(select(Lead).where(Lead.email == "bob@known.io"))
    assert bob is not None and bob.custom_fields == {"role": "Boss"} and bob.title is None


async def test_leads_import_refuses_a_bad_mapping_with_its_code(tmp_path, database_url, owner):
    path = tmp_path / "export.csv"
    path.write_text(CONTENT)
    answer = leadflood(
        tmp_path,
        database_url,
        "leads",
        "import",
        str(path),
        "-w",
        "Acme",
        "--map",
        "Job Title=salary",
        "--json",
    )
    assert answer.returncode == 1
    assert "unknown_field" in answer.stderr

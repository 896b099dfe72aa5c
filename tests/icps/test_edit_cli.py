"""`leadflood icps update|delete` and `leadflood leads list` filters: what the ICP page's Edit
and Delete buttons and the leads page's filters do, from the shell."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from sqlalchemy import select

from leadflood.models import Icp, Lead
from tests.support.accounts import Account
from tests.support.icps import make_icp
from tests.support.processes import run_cli


def leadflood(tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(tmp_path, database_url, *args)


async def test_update_changes_only_what_is_given_and_delete_keeps_leads(
    tmp_path: Path, database_url: str, runtime, owner: Account
) -> None:
    icp = await make_icp(runtime, owner.workspace_id, criteria={"titles": ["CTO"]})
    async with runtime.db.session() as session:
        session.add(
            Lead(
                workspace_id=owner.workspace_id,
                email="ada@analytical.io",
                title="CTO",
                icp_id=icp.id,
                score=80,
                source="manual",
                custom_fields={},
            )
        )

    changed = leadflood(
        tmp_path, database_url, "icps", "update", str(icp.id), "-w", "Acme",
        "--countries", "DACH", "--weight", "titles=50", "--json",
    )  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    body = json.loads(changed.stdout)
    assert body["criteria"]["titles"] == ["CTO"]  # kept
    assert body["criteria"]["countries"] == ["DACH"]
    assert body["weights"]["titles"] == 50

    listed = leadflood(
        tmp_path, database_url, "leads", "list", "-w", "Acme", "--icp", str(icp.id),
        "--score-min", "50", "--sort", "score", "--json",
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert [item["email"] for item in json.loads(listed.stdout)["items"]] == ["ada@analytical.io"]
    bad = leadflood(tmp_path, database_url, "leads", "list", "-w", "Acme", "--sort", "best")
    assert bad.returncode == 2 and "--sort must be one of" in bad.stderr

    nothing = leadflood(tmp_path, database_url, "icps", "update", str(icp.id), "-w", "Acme")
    assert nothing.returncode == 2 and "Nothing to change" in nothing.stderr
    invalid = leadflood(
        tmp_path, database_url, "icps", "update", str(icp.id), "-w", "Acme",
        "--employee-ranges", "lots",
    )  # fmt: skip
    assert invalid.returncode == 2 and "is not a range" in invalid.stderr

    deleted = leadflood(
        tmp_path, database_url, "icps", "delete", str(icp.id), "-w", "Acme", "--yes"
    )
    assert deleted.returncode == 0, deleted.stderr
    async with runtime.db.session() as session:
        assert await session.get(Icp, icp.id) is None
        lead = await session.scalar(select(Lead).where(Lead.email == "ada@analytical.io"))
        assert lead is not None and lead.icp_id is None and lead.score is None
    again = leadflood(tmp_path, database_url, "icps", "delete", str(icp.id), "-w", "Acme", "--yes")
    assert again.returncode == 1 and "icp_not_found" in again.stderr

from __future__ import annotations

import json
import subprocess
from decimal import Decimal

from leadflood.models import Lead, LeadStatus
from tests.factories import make_lead, universe_email
from tests.support.processes import run_cli


def leadflood(tmp_path, database_url, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(tmp_path, database_url, *args, VERIFY_MX_TIMEOUT_SECONDS="0.2")


async def test_settings_and_bulk_enrich_from_the_cli(tmp_path, database_url, runtime, owner):
    changed = leadflood(
        tmp_path, database_url, "settings", "enrichment", "set", "-w", "Acme",
        "--waterfall", "sandbox", "--wanted", "title,phone", "--budget", "50",
    )  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    assert Decimal(json.loads(changed.stdout)["monthly_budget"]) == 50
    wrong = leadflood(
        tmp_path, database_url, "settings", "enrichment", "set", "-w", "Acme", "--waterfall", "x"
    )
    assert wrong.returncode == 1 and "unknown_provider" in wrong.stderr

    ids = []
    for email in (universe_email(30), universe_email(40)):
        async with runtime.db.session() as session:
            ids.append((await make_lead(session, owner.workspace_id, email=email)).id)
    done = leadflood(
        tmp_path, database_url, "leads", "enrich", "-w", "Acme", "--filter", "status=new",
        "--run-worker", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["state"], result["total"], result["done"]) == ("completed", 2, 2)
    async with runtime.db.session() as session:
        leads = [await session.get(Lead, lead_id) for lead_id in ids]
    assert all(lead.status == LeadStatus.enriched and lead.phone for lead in leads)

    queued = leadflood(
        tmp_path, database_url, "leads", "verify", "-w", "Acme", "--ids", str(ids[0]),
        "--no-wait", "--json",
    )  # fmt: skip
    assert queued.returncode == 0, queued.stderr
    assert json.loads(queued.stdout)["state"] == "queued"
    usage = leadflood(tmp_path, database_url, "settings", "enrichment", "usage", "-w", "Acme")
    assert Decimal(json.loads(usage.stdout)["budget"]) == 50
    bad = leadflood(tmp_path, database_url, "leads", "enrich", "-w", "Acme")
    assert bad.returncode == 2 and "exactly one" in bad.stderr

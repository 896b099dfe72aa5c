from __future__ import annotations

import json

from leadflood.models import Company
from tests.factories import make_lead
from tests.support.processes import run_cli


async def test_list_show_and_update_from_the_cli(tmp_path, database_url, runtime, owner) -> None:
    async with runtime.db.session() as session:
        acme = Company(workspace_id=owner.workspace_id, domain="acme.com", name="Acme")
        session.add(acme)
        await session.flush()
        await make_lead(session, owner.workspace_id, company_id=acme.id, first_name="Ada")
        acme_id = str(acme.id)

    listed = run_cli(
        tmp_path, database_url, "companies", "list", "-w", "Acme", "--q", "acm", "--json"
    )
    assert listed.returncode == 0, listed.stderr
    [item] = json.loads(listed.stdout)["items"]
    assert (item["id"], item["lead_count"]) == (acme_id, 1)

    shown = run_cli(tmp_path, database_url, "companies", "show", acme_id, "-w", "Acme", "--json")
    assert shown.returncode == 0, shown.stderr
    assert [p["first_name"] for p in json.loads(shown.stdout)["people"]] == ["Ada"]

    updated = run_cli(
        tmp_path, database_url, "companies", "update", acme_id, "-w", "Acme",
        "--employees", "250", "--industry", "Robotics", "--json",
    )  # fmt: skip
    assert updated.returncode == 0, updated.stderr
    body = json.loads(updated.stdout)
    assert (body["employee_count"], body["industry"], body["name"]) == (250, "Robotics", "Acme")

    bad = run_cli(tmp_path, database_url, "companies", "update", acme_id, "-w", "Acme",
                  "--domain", "nope")  # fmt: skip
    assert bad.returncode == 1 and "validation_error" in bad.stderr

"""An import scored against the ICP chosen for it (API, page, CLI), or else each lead's best fit."""

from __future__ import annotations

import json

from sqlalchemy import select

from leadflood.models import Lead
from tests.factories import make_workspace
from tests.imports.test_routes import upload
from tests.support.accounts import browser_login, csrf_of
from tests.support.icps import make_icp
from tests.support.jobs import drain
from tests.support.processes import run_cli

PEOPLE = (
    b"email,first_name,title,country\n"
    b"ann@acme.io,Ann,VP Sales,US\n"
    b"cy@acme.io,Cy,Head of Marketing,GB\n"
)


async def _leads(runtime, workspace_id) -> dict[str, Lead]:
    async with runtime.db.sessions() as session:
        rows = await session.scalars(select(Lead).where(Lead.workspace_id == workspace_id))
        return {lead.email: lead for lead in rows}


async def test_the_chosen_icp_scores_the_imported_leads(client, runtime, owner) -> None:
    await make_icp(runtime, owner.workspace_id, name="Sales")
    marketing = await make_icp(
        runtime, owner.workspace_id, name="Marketing", criteria={"departments": ["marketing"]}
    )
    made = await upload(client, PEOPLE, icp_id=str(marketing.id))
    assert made.status_code == 201, made.text
    assert made.json()["icp_id"] == str(marketing.id)
    started = await client.post(f"/v1/imports/{made.json()['id']}/start")
    assert started.status_code == 202, started.text
    await drain(runtime)
    leads = await _leads(runtime, owner.workspace_id)
    assert {lead.icp_id for lead in leads.values()} == {marketing.id}
    assert all(lead.score is not None for lead in leads.values())

    async with runtime.db.session() as session:
        elsewhere = await make_workspace(session, "Other")
    theirs = await make_icp(runtime, elsewhere.id, name="Theirs")
    refused = await upload(client, PEOPLE, icp_id=str(theirs.id))
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "icp_not_found"


async def test_without_a_choice_each_lead_takes_its_best_fit(client, runtime, owner) -> None:
    await make_icp(runtime, owner.workspace_id, name="Sales")
    made = await upload(client, PEOPLE)
    assert made.json()["icp_id"] is None
    await client.post(f"/v1/imports/{made.json()['id']}/start")
    await drain(runtime)
    leads = await _leads(runtime, owner.workspace_id)
    assert leads["ann@acme.io"].score is not None


async def test_the_upload_page_and_the_shell_choose_it(
    anon_client, runtime, owner, tmp_path, database_url
) -> None:
    icp = await make_icp(runtime, owner.workspace_id, name="Sales")
    await browser_login(anon_client, owner)
    page = await anon_client.get("/imports/new")
    assert "Score the imported leads against" in page.text and "Sales" in page.text
    sent = await anon_client.post(
        "/imports",
        data={"csrf_token": csrf_of(page.text), "icp_id": str(icp.id)},
        files={"file": ("people.csv", PEOPLE, "text/csv")},
    )
    assert sent.status_code == 303, sent.text
    shown = await anon_client.get(sent.headers["location"].replace("/imports/", "/v1/imports/"))
    assert shown.json()["icp_id"] == str(icp.id)

    path = tmp_path / "more.csv"
    path.write_bytes(PEOPLE.replace(b"acme.io", b"beta.io"))
    done = run_cli(tmp_path, database_url, "leads", "import", str(path), "--icp", str(icp.id),
                   "-w", "Acme", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["icp_id"] == str(icp.id)

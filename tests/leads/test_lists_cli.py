"""`leadflood lists …` and `leadflood leads tag|untag|note`, owner via `leads update`."""

from __future__ import annotations

import json

from sqlalchemy import select

from leadflood.models import Lead, LeadNote
from tests.factories import make_lead
from tests.leads.test_cli import leadflood


async def test_lists_tags_notes_and_owner_from_the_shell(
    tmp_path, database_url, runtime, owner, make_user
):
    async with runtime.db.session() as session:
        await make_lead(session, owner.workspace_id, email="ada@x.io")
        await make_lead(session, owner.workspace_id, email="bob@x.io")
        await session.commit()
    colleague = await make_user(role="member", workspace=owner.workspace_id, email="m@acme.io")

    made = leadflood(tmp_path, database_url, "lists", "create", "Webinar")
    assert made.returncode == 0, made.stderr
    list_id = json.loads(made.stdout)["id"]
    tagged = leadflood(tmp_path, database_url, "leads", "tag", "VIP", "--lead", "ada@x.io")
    assert tagged.returncode == 0 and "Tagged 1 lead." in tagged.stdout, tagged.stderr
    both = leadflood(tmp_path, database_url, "leads", "tag", "x", "--lead", "a", "--filter", "q=a")
    assert both.returncode == 2

    added = leadflood(tmp_path, database_url, "lists", "add", "webinar", "--filter", "tag=vip")
    assert added.returncode == 0 and "Added 1 lead." in added.stdout, added.stderr
    shown = json.loads(leadflood(tmp_path, database_url, "lists", "show", list_id).stdout)
    assert shown["members"] == 1
    assert [lead["email"] for lead in shown["leads"]["items"]] == ["ada@x.io"]
    members = leadflood(tmp_path, database_url, "leads", "list", "--list", "Webinar", "--json")
    assert [lead["email"] for lead in json.loads(members.stdout)["items"]] == ["ada@x.io"]
    listed = json.loads(leadflood(tmp_path, database_url, "lists", "list", "--json").stdout)
    assert listed == [{"id": list_id, "name": "Webinar", "members": 1}]

    removed = leadflood(tmp_path, database_url, "lists", "remove", "Webinar", "--lead", "ada@x.io")
    assert removed.returncode == 0 and "Removed 1 lead." in removed.stdout
    untagged = leadflood(tmp_path, database_url, "leads", "untag", "vip", "--filter", "tag=vip")
    assert untagged.returncode == 0 and "Untagged 1 lead." in untagged.stdout

    noted = leadflood(tmp_path, database_url, "leads", "note", "bob@x.io", "Call back in May")
    assert noted.returncode == 0, noted.stderr
    assert json.loads(noted.stdout)["text"] == "Call back in May"
    given = leadflood(
        tmp_path, database_url, "leads", "update", "bob@x.io", "--set", "owner=M@acme.io"
    )
    assert given.returncode == 0, given.stderr
    assert json.loads(given.stdout)["owner_id"] == str(colleague.user_id)
    stranger = leadflood(
        tmp_path, database_url, "leads", "update", "bob@x.io", "--set", "owner=who@else.io"
    )
    assert stranger.returncode == 1 and "owner_not_member" in stranger.stderr

    deleted = leadflood(tmp_path, database_url, "lists", "delete", "Webinar", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    missing = leadflood(tmp_path, database_url, "lists", "show", "Webinar")
    assert missing.returncode == 1 and "list_not_found" in missing.stderr
    async with runtime.db.session() as session:
        tags = dict((await session.execute(select(Lead.email, Lead.tags))).all())
        notes = list(await session.scalars(select(LeadNote.body)))
    assert tags == {"ada@x.io": [], "bob@x.io": []}
    assert notes == ["Call back in May"]


async def test_an_import_from_the_shell_fills_a_list(tmp_path, database_url, runtime, owner):
    leadflood(tmp_path, database_url, "lists", "create", "From CSV")
    path = tmp_path / "people.csv"
    path.write_text("email,first_name\nann@x.io,Ann\ncy@x.io,Cy\n")
    done = leadflood(tmp_path, database_url, "leads", "import", str(path), "--list", "from csv")
    assert done.returncode == 0, done.stderr
    shown = json.loads(leadflood(tmp_path, database_url, "lists", "show", "From CSV").stdout)
    assert shown["members"] == 2
    unknown = leadflood(tmp_path, database_url, "leads", "import", str(path), "--list", "Nope")
    assert unknown.returncode == 1 and "list_not_found" in unknown.stderr

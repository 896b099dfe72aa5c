"""Every hand-made change to the suppression list is in the audit log, once per action (an
import of N entries is one event with its counts), from the API, the web UI and the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from leadflood.models import AuditEvent, SuppressionKind
from leadflood.runtime import Runtime
from leadflood.suppressions import service as suppression
from tests.support.accounts import Account, browser_login, csrf_of
from tests.support.processes import run_cli


async def _events(runtime: Runtime) -> list[AuditEvent]:
    async with runtime.db.session() as session:
        rows = await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action.like("suppression.%"))
            .order_by(AuditEvent.created_at)
        )
        return list(rows)


async def test_the_api_records_add_import_and_remove(
    client: httpx.AsyncClient, runtime: Runtime, owner: Account
) -> None:
    made = await client.post(
        "/v1/suppressions",
        json={"kind": "email", "value": "A@X.example", "reason": "do_not_contact"},
    )
    assert made.status_code == 201
    imported = await client.post(
        "/v1/suppressions/import",
        content=b"value\nb@x.example\nc@x.example\nz.example\nnot valid\na@x.example\n",
        headers={"content-type": "text/csv"},
    )
    assert imported.json()["added"] == 3
    gone = await client.delete(f"/v1/suppressions/{made.json()['id']}")
    assert gone.status_code == 204

    added, batch, removed = await _events(runtime)
    assert added.action == "suppression.added"
    assert added.workspace_id == owner.workspace_id and added.actor_api_key_id is not None
    assert added.actor is not None and "API key" in added.actor
    assert added.target_type == "suppression" and added.target_id == made.json()["id"]
    assert added.details.pop("source").startswith("api:API key")
    assert added.details == {
        "scope": "workspace",
        "kind": "email",
        "value": "a@x.example",
        "reason": "do_not_contact",
        "already_listed": False,
    }
    assert batch.action == "suppression.imported" and batch.workspace_id == owner.workspace_id
    assert {k: batch.details[k] for k in ("added", "existing", "rejected", "reason")} == {
        "added": 3,
        "existing": 1,
        "rejected": 1,
        "reason": "imported",
    }
    assert removed.action == "suppression.removed" and removed.target_id == made.json()["id"]
    assert {k: removed.details[k] for k in ("kind", "value", "reason")} == {
        "kind": "email",
        "value": "a@x.example",
        "reason": "do_not_contact",
    }
    # A refused removal (already gone) records nothing.
    assert (await client.delete(f"/v1/suppressions/{made.json()['id']}")).status_code == 404
    assert len(await _events(runtime)) == 3


async def test_the_web_ui_records_add_import_and_remove(
    anon_client: httpx.AsyncClient, runtime: Runtime, owner: Account
) -> None:
    await browser_login(anon_client, owner)
    token = csrf_of((await anon_client.get("/suppressions")).text)
    added = await anon_client.post(
        "/suppressions",
        data={"value": "Jane@Rival.com", "reason": "manual", "csrf_token": token},
    )
    assert added.status_code == 303
    refused = await anon_client.post("/suppressions", data={"value": "???", "csrf_token": token})
    assert refused.status_code == 422
    imported = await anon_client.post(
        "/suppressions/import",
        data={"csrf_token": token},
        files={"file": ("dnc.csv", b"value\nrival.example\nother.example\n", "text/csv")},
    )
    assert imported.status_code == 303
    listing = (await anon_client.get("/suppressions?kind=email")).text
    (entry,) = re.findall(r'action="/suppressions/([0-9a-f-]{36})/delete"', listing)
    removed = await anon_client.post(f"/suppressions/{entry}/delete", data={"csrf_token": token})
    assert removed.status_code == 303

    events = await _events(runtime)
    assert [e.action for e in events] == [
        "suppression.added",
        "suppression.imported",
        "suppression.removed",
    ]
    assert {e.actor for e in events} == {owner.email}
    assert {e.actor_user_id for e in events} == {owner.user_id}
    assert events[0].details["value"] == "jane@rival.com"
    assert events[0].details["reason"] == "manual"
    assert events[1].details["added"] == 2 and events[1].details["source"] == (
        f"import:{owner.email}"
    )
    assert events[2].target_id == entry and events[2].details["value"] == "jane@rival.com"


async def test_automatic_entries_write_no_audit_event(runtime: Runtime, owner: Account) -> None:
    async with runtime.db.session() as session:
        await suppression.add(
            session, owner.workspace_id, SuppressionKind.email, "b@x.example", "bounced", "smtp"
        )
    assert await _events(runtime) == []


def _cli(tmp_path: Path, database_url: str, *args: str) -> Any:
    done = run_cli(tmp_path, database_url, "suppressions", *args, "--workspace", "Acme", "--json")
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return json.loads(done.stdout)


async def test_the_command_line_records_add_import_and_remove(
    tmp_path: Path, database_url: str, runtime: Runtime, owner: Account
) -> None:
    row = _cli(tmp_path, database_url, "add", "dnc@rival.example", "--reason", "do_not_contact")
    csv_file = tmp_path / "list.csv"
    csv_file.write_text("value\none@x.example\ntwo@x.example\n??\n")
    assert _cli(tmp_path, database_url, "import", str(csv_file))["added"] == 2
    _cli(tmp_path, database_url, "remove", row["id"])

    added, batch, removed = await _events(runtime)
    assert [e.actor for e in (added, batch, removed)] == ["command line"] * 3
    assert {e.workspace_id for e in (added, batch, removed)} == {owner.workspace_id}
    assert added.details["value"] == "dnc@rival.example"
    assert added.details["reason"] == "do_not_contact"
    assert batch.details["added"] == 2 and batch.details["rejected"] == 1
    assert batch.details["source"] == "cli:list.csv"
    assert removed.target_id == row["id"] and removed.details["kind"] == "email"

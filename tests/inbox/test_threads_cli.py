"""`leadflood inbox list|show|reply`, as from a shell on the test database: the same threads,
history and reply as the API."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from leadflood.models import Message, MessageStatus, Suppression
from leadflood.runtime import Runtime
from tests.factories import FIXED_NOW, make_lead, make_mailbox, make_replied_thread
from tests.support.accounts import Account
from tests.support.processes import run_cli


def _cli(tmp_path: Path, database_url: str, *args: str, stdin: str = "") -> Any:
    return run_cli(
        tmp_path, database_url, "inbox", *args, "--workspace", "Acme", stdin=stdin, COLUMNS="160"
    )


async def test_list_show_and_reply_from_the_command_line(
    tmp_path: Path, database_url: str, runtime: Runtime, owner: Account
) -> None:
    async with runtime.db.session() as session:
        box = await make_mailbox(session, owner.workspace_id, from_email="sam@sender.example")
        ada = await make_lead(session, owner.workspace_id, email="ada@prospect.example",
                              first_name="Ada", last_name="Lovelace")  # fmt: skip
        bob = await make_lead(session, owner.workspace_id, email="bob@prospect.example")
        first, answer = await make_replied_thread(session, runtime.settings, box, ada)
        second, _ = await make_replied_thread(
            session, runtime.settings, box, bob, body="Not interested, thanks.",
            replied_at=FIXED_NOW + timedelta(hours=3),
        )  # fmt: skip

    listed = _cli(tmp_path, database_url, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    items = json.loads(listed.stdout)["items"]
    assert [i["id"] for i in items] == [str(second.id), str(first.id)]
    only = json.loads(
        _cli(tmp_path, database_url, "list", "--label", "interested", "--json").stdout
    )
    assert [i["lead_email"] for i in only["items"]] == ["ada@prospect.example"]
    paged = json.loads(_cli(tmp_path, database_url, "list", "--limit", "1", "--json").stdout)
    assert len(paged["items"]) == 1 and paged["next_cursor"]
    table = _cli(tmp_path, database_url, "list")
    assert "Ada Lovelace" in table.stdout and "interested" in table.stdout
    bad = _cli(tmp_path, database_url, "list", "--state", "archived")
    assert bad.returncode == 2 and "state" in bad.stderr
    nobody = _cli(tmp_path, database_url, "list", "--assignee", "ghost@example.com")
    assert nobody.returncode == 1 and "member_not_found" in nobody.stderr

    shown = _cli(tmp_path, database_url, "show", str(first.id), "--json")
    detail = json.loads(shown.stdout)
    assert [m["direction"] for m in detail["messages"]] == ["outbound", "inbound"]
    assert detail["messages"][1]["classification"]["label"] == "interested"
    readable = _cli(tmp_path, database_url, "show", str(first.id)).stdout
    assert "Quick question" in readable and "Thursday" in readable and "interested" in readable
    missing = _cli(tmp_path, database_url, "show", str(box.id))
    assert missing.returncode == 1 and "thread_not_found" in missing.stderr

    replied = _cli(tmp_path, database_url, "reply", str(first.id), "--body", "-", "--json",
                   stdin="Thursday 10:00 works.\n")  # fmt: skip
    assert replied.returncode == 0, replied.stderr
    message = json.loads(replied.stdout)
    assert (message["status"], message["subject"]) == ("queued", "Re: Quick question")
    assert message["in_reply_to"] == answer.message_id
    empty = _cli(tmp_path, database_url, "reply", str(first.id), "--body", "")
    assert empty.returncode == 2 and "validation_error" in empty.stderr

    async with runtime.db.session() as session:
        row = await session.get(Message, message["id"])
        assert row is not None and row.thread_id == first.id
        assert row.status == MessageStatus.queued and row.body_text.startswith("Thursday 10:00")
        session.add(
            Suppression(
                workspace_id=owner.workspace_id, kind="email", value="bob@prospect.example",
                reason="manual",
            )
        )  # fmt: skip
    refused = _cli(tmp_path, database_url, "reply", str(second.id), "--body", "Hello?")
    assert refused.returncode == 1 and "recipient_suppressed" in refused.stderr
    async with runtime.db.session() as session:
        replies = await session.scalars(
            select(Message).where(Message.thread_id == second.id, Message.direction == "outbound")
        )
        assert len(replies.all()) == 1

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import select

from leadflood.models import AuditEvent, VerificationStatus
from leadflood.runtime import Runtime
from tests.factories import make_lead
from tests.support.accounts import Account
from tests.support.processes import run_cli
from tests.support.smtp_server import SmtpTestServer


class Cli:
    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.tmp_path, self.database_url = tmp_path, database_url

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = run_cli(self.tmp_path, self.database_url, *args, "--workspace", "Acme")
        if ok:
            assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)


async def test_mailboxes_sequences_and_suppressions_from_the_command_line(
    tmp_path: Path, database_url: str, runtime: Runtime, owner: Account
) -> None:
    cli = Cli(tmp_path, database_url)
    async with runtime.db.session() as session:
        lead = await make_lead(
            session,
            owner.workspace_id,
            first_name="Ada",
            company_name="Initech",
            verification_status=VerificationStatus.valid,
        )
        lead_id = str(lead.id)
    with SmtpTestServer(username="sam", password="pw") as smtp:
        server = ("--host", smtp.host, "--port", str(smtp.port), "--tls", "none")
        common = (*server, "--username", "sam", "--from-email", "sam@sender.example", "--name", "S")
        refused = cli.run("mailboxes", "add-smtp", *common, "--password", "wrong", ok=False)
        assert refused.returncode == 1 and "mailbox_check_failed" in refused.stderr
        box = cli.json("mailboxes", "add-smtp", *common, "--password", "pw", "--daily-cap", "25")
        assert box["has_secret"] and "pw" not in json.dumps(box["settings"])
        assert cli.json("mailboxes", "check", box["id"])["ok"] is True
    assert cli.json("mailboxes", "pause", box["id"])["state"] == "paused"
    (listed,) = cli.json("mailboxes", "list")
    assert listed["health"]["cap_today"] == 25 and listed["state"] == "paused"

    seq = cli.json("sequences", "create", "--name", "Launch", "--timezone", "Europe/Paris",
                   "--postal-address", "Acme, 1 Main St", "--mailbox", box["id"])  # fmt: skip
    assert seq["state"] == "draft" and seq["mailbox_ids"] == [box["id"]]
    bad = cli.run("sequences", "add-step", "Launch", "--body", "Hi {{ frist_name }}", ok=False)
    assert bad.returncode == 1 and "unknown_variable" in bad.stderr
    cli.json("sequences", "add-step", "Launch", "--subject", "Hi {{ first_name }}",
             "--body", "Hello {{ first_name }}", "--delay", "0", "--unit", "hours")  # fmt: skip
    detail = cli.json("sequences", "add-step", seq["id"], "--body", "Bump", "--delay", "2")
    assert [s["delay_unit"] for s in detail["steps"]] == ["hours", "business_days"]
    not_ready = cli.run("sequences", "activate", "Launch", ok=False)
    assert not_ready.returncode == 1 and "Choose an active mailbox" in not_ready.stderr
    assert cli.json("mailboxes", "resume", box["id"])["state"] == "active"
    outside_tests = run_cli(tmp_path, database_url, "sequences", "activate", "Launch", "-w", "Acme",
                            LEADFLOOD_ENV="development")  # fmt: skip
    assert outside_tests.returncode == 1, outside_tests.stdout
    assert "set PUBLIC_URL" in " ".join(outside_tests.stderr.split())
    assert cli.json("sequences", "activate", "Launch")["state"] == "active"
    async with runtime.db.sessions() as session:
        actors = {
            event.action: event.actor
            for event in await session.scalars(
                select(AuditEvent).where(AuditEvent.action.like("sequence.%"))
            )
        }
    # The shell's changes name their actor in the audit log, as the API's and the pages' do.
    assert actors.get("sequence.activated") and actors.get("sequence.created"), actors
    enrolled = cli.json("sequences", "enroll", "Launch", "--lead", lead_id)
    assert enrolled["enrolled"] == 1
    again = cli.json("sequences", "enroll", "Launch", "--filter", "q=Initech")
    assert again["skipped"]["already_enrolled"] == 1
    planned = cli.json("sequences", "preview", "Launch", "--lead", lead_id)
    assert planned[0]["subject"] == "Hi Ada" and planned[1]["subject"] == "Re: Hi Ada"
    (row,) = cli.json("sequences", "list")
    assert (row["name"], row["steps"], row["enrolled"]) == ("Launch", 2, 1)
    shown = cli.json("sequences", "show", "Launch")
    assert shown["stats"]["enrollments"]["active"] == 1
    (enrolled_row,) = cli.json("sequences", "enrollments", "list", "Launch")
    assert (enrolled_row["lead_id"], enrolled_row["state"]) == (lead_id, "active")
    one = enrolled_row["id"]
    assert cli.json("sequences", "enrollments", "pause", one) == {"changed": 1}
    assert cli.json("sequences", "enrollments", "list", "Launch", "--state", "paused")
    twice = cli.run("sequences", "enrollments", "pause", one)
    assert "0 of 1 enrollment paused" in twice.stdout and "Only active" in twice.stdout
    assert cli.json("sequences", "enrollments", "resume", one) == {"changed": 1}
    assert cli.json("sequences", "pause", "Launch")["state"] == "paused"
    wrong = cli.run("sequences", "pause", "Launch", ok=False)
    assert wrong.returncode == 1 and "invalid_transition" in wrong.stderr
    assert "(only an active one can)" in wrong.stderr
    assert cli.json("sequences", "resume", "Launch")["state"] == "active"
    assert cli.json("sequences", "enrollments", "stop", one, one) == {"changed": 1}
    (stopped_row,) = cli.json("sequences", "enrollments", "list", "Launch", "--state", "stopped")
    assert stopped_row["stop_reason"] == "manual"
    assert not cli.json("sequences", "enrollments", "list", "Launch", "--state", "active")
    dns = cli.json("mailboxes", "dns", box["id"])
    assert dns["domain"] == "sender.example"
    assert {dns[k]["status"] for k in ("spf", "dmarc")} <= {"ok", "missing", "unknown", "invalid"}
    assert cli.json("sequences", "archive", "Launch")["state"] == "archived"

    added = cli.json("suppressions", "add", "Gone@Prospect.example", "--note", "asked")
    assert (added["kind"], added["value"], added["scope"]) == ("email", "gone@prospect.example",
                                                               "workspace")  # fmt: skip
    csv = tmp_path / "dnc.csv"
    csv.write_text(
        "value,kind\nrival.example,domain\nnot an email@,email\ngone@prospect.example,\n"
    )
    report = cli.json("suppressions", "import", str(csv))
    assert (report["added"], report["existing"], len(report["rejected"])) == (1, 1, 1)
    values = {s["value"] for s in cli.json("suppressions", "list")}
    assert values == {"gone@prospect.example", "rival.example"}
    cli.json("suppressions", "remove", added["id"])
    assert {s["value"] for s in cli.json("suppressions", "list")} == {"rival.example"}


async def test_entry_rules_from_the_command_line(
    tmp_path: Path, database_url: str, runtime: Runtime, owner: Account
) -> None:
    cli = Cli(tmp_path, database_url)
    created = cli.json("sequences", "create", "--name", "Picky", "--min-score", "50")
    assert (created["min_score"], created["require_verified_email"]) == (50, False)
    sid = created["id"]
    ruled = cli.json(
        "sequences", "entry-rules", sid, "--min-score", "70", "--require-verified-email"
    )
    assert (ruled["min_score"], ruled["require_verified_email"]) == (70, True)
    cleared = cli.json("sequences", "entry-rules", sid, "--clear-min-score", "--any-email")
    assert (cleared["min_score"], cleared["require_verified_email"]) == (None, False)
    refused = cli.run("sequences", "entry-rules", sid, "--min-score", "101", ok=False)
    assert refused.returncode != 0 and "min_score" in refused.stderr

"""A corrected label takes effect as the rules' would, in the correction's transaction: a reply
stops the enrollment (and the company's, when the sequence asks), an opt-out suppresses the
person and stops all their enrollments, a hard bounce suppresses the address and stops the
enrollment, an out-of-office pauses it; each effect is kept with the message and shown on the
lead's timeline as corrected by its person. The former label's effects are never undone: the
API answer, the thread page and the command line say which stay and how to undo them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from leadflood.auth.principal import CurrentMember
from leadflood.inbox import service as inbox
from leadflood.inbox.schemas import ClassificationUpdate
from leadflood.models import (
    AuditEvent,
    Company,
    Enrollment,
    EnrollmentState,
    Message,
    MessageStatus,
    Role,
    Suppression,
    Workspace,
)
from leadflood.runtime import Runtime
from tests.factories import (
    make_bare_sequence,
    make_enrollment,
    make_lead,
    make_mailbox,
    make_replied_thread,
)
from tests.support.accounts import Account, browser_login, csrf_of
from tests.support.processes import run_cli

INTERESTED = "Sounds interesting, can we talk on Thursday?"
AWAY = "I am out of the office until 14 December 2026 with limited access to email."
UNSUBSCRIBE = "Please remove me from your list."
# A sequence that goes on after a reply: the answer itself stops nothing.
GOES_ON = {"on_reply": False}


async def _answered(
    runtime: Runtime,
    workspace_id: uuid.UUID,
    body: str,
    *,
    stop_rules: dict[str, Any] | None = None,
    company: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Ada's answer to a sequence's first email, through the inbox's own processing."""
    async with runtime.db.session() as session:
        box = await make_mailbox(session, workspace_id, from_email="sam@sender.example")
        sequence, (step,) = await make_bare_sequence(session, workspace_id, name="Launch")
        sequence.stop_rules = stop_rules or {}
        ada = await make_lead(
            session, workspace_id, email="ada@prospect.example", first_name="Ada",
            company_id=company,
        )  # fmt: skip
        thread, answer = await make_replied_thread(
            session, runtime.settings, box, ada, body=body, sequence=sequence, step=step
        )
        ours = await session.scalar(
            select(Message).where(Message.thread_id == thread.id, Message.direction == "outbound")
        )
        assert ours is not None
    return {
        "thread": thread, "answer": answer, "lead": ada, "sequence": sequence,
        "enrollment_id": answer.enrollment_id, "ours": ours,
    }  # fmt: skip


async def _enrollment(runtime: Runtime, enrollment_id: Any) -> Enrollment:
    async with runtime.db.session() as session:
        row = await session.get(Enrollment, enrollment_id)
        assert row is not None
        return row


async def _stored(runtime: Runtime, message_id: Any) -> dict[str, Any]:
    async with runtime.db.session() as session:
        row = await session.get(Message, message_id)
        assert row is not None and row.classification is not None
        return dict(row.classification)


async def _suppressions(runtime: Runtime, workspace_id: Any) -> list[Suppression]:
    async with runtime.db.session() as session:
        rows = await session.scalars(
            select(Suppression).where(Suppression.workspace_id == workspace_id)
        )
        return list(rows.all())


async def _timeline(client: httpx.AsyncClient, lead_id: Any) -> list[dict[str, Any]]:
    detail = await client.get(f"/v1/leads/{lead_id}/detail")
    assert detail.status_code == 200, detail.text
    return [e for e in detail.json()["timeline"] if e["kind"] == "inbox"]


async def test_a_reply_corrected_from_out_of_office_stops_the_enrollment_and_the_company(
    client: httpx.AsyncClient, runtime: Runtime, owner: Account
) -> None:
    async with runtime.db.session() as session:
        company = Company(workspace_id=owner.workspace_id, domain="prospect.example")
        session.add(company)
        await session.flush()
    made = await _answered(
        runtime, owner.workspace_id, AWAY, stop_rules={"stop_company_on_reply": True},
        company=company.id,
    )  # fmt: skip
    async with runtime.db.session() as session:
        bea = await make_lead(
            session, owner.workspace_id, email="bea@prospect.example", company_id=company.id
        )
        colleague = await make_enrollment(session, owner.workspace_id, made["sequence"].id, bea.id)
    assert (await _enrollment(runtime, made["enrollment_id"])).state == EnrollmentState.paused
    url = f"/v1/messages/{made['answer'].id}/classification"

    fixed = await client.put(url, json={"kind": "reply", "label": "interested"})
    assert fixed.status_code == 200, fixed.text
    body = fixed.json()
    assert [s.split(" (corrected by ")[0] for s in body["applied"]] == [
        "Enrollment stopped: the lead replied.",
        "1 colleague enrollment(s) stopped: same company.",
    ]
    assert all(s.endswith(")") and "(corrected by " in s for s in body["applied"])
    assert body["not_undone"] == []
    mine = await _enrollment(runtime, made["enrollment_id"])
    assert (mine.state, mine.stop_reason) == (EnrollmentState.stopped, "replied")
    theirs = await _enrollment(runtime, colleague.id)
    assert (theirs.state, theirs.stop_reason) == (EnrollmentState.stopped, "colleague_replied")
    effects = body["classification"]["effects"]
    assert effects[0].startswith("Enrollment paused until")  # the rules' own, kept
    assert effects[1:] == body["applied"]
    rules, person = await _timeline(client, made["lead"].id)
    assert (rules["title"], rules["detail"]) == (
        effects[0],
        "Inbound message read as out of office",
    )
    assert person["title"] == (
        "Enrollment stopped: the lead replied. 1 colleague enrollment(s) stopped: same company."
    )
    assert person["detail"].startswith("Label corrected to reply / interested by API key ")

    again = await client.put(url, json={"kind": "reply", "label": "interested"})
    assert again.json()["applied"] == [] and again.json()["classification"]["effects"] == effects
    # Another reply label: the reply's effects are in place already, nothing is said twice.
    other = await client.put(url, json={"kind": "reply", "label": "question"})
    assert other.json()["applied"] == [] and other.json()["classification"]["effects"] == effects


@pytest.mark.parametrize(("kind", "label"), [("unsubscribe", None), ("complaint", "abuse")])
async def test_an_opt_out_correction_suppresses_and_stops_every_enrollment(
    client: httpx.AsyncClient, runtime: Runtime, owner: Account, kind: str, label: str | None
) -> None:
    made = await _answered(runtime, owner.workspace_id, INTERESTED, stop_rules=GOES_ON)
    async with runtime.db.session() as session:
        elsewhere, _ = await make_bare_sequence(session, owner.workspace_id, name="Other")
        second = await make_enrollment(session, owner.workspace_id, elsewhere.id, made["lead"].id)
    assert (await _enrollment(runtime, made["enrollment_id"])).state == EnrollmentState.active
    url = f"/v1/messages/{made['answer'].id}/classification"

    fixed = await client.put(url, json={"kind": kind, "label": label})
    assert fixed.status_code == 200, fixed.text
    reason = "unsubscribed" if kind == "unsubscribe" else "complaint"
    listed = "unsubscribed" if kind == "unsubscribe" else "complained"
    assert [s.split(" (corrected by ")[0] for s in fixed.json()["applied"]] == [
        f"ada@prospect.example suppressed ({reason}) on every channel.",
        "2 enrollment(s) stopped.",
    ]
    (row,) = await _suppressions(runtime, owner.workspace_id)
    assert (row.value, row.reason, row.source) == ("ada@prospect.example", listed, "inbox")
    for enrollment_id in (made["enrollment_id"], second.id):
        stopped = await _enrollment(runtime, enrollment_id)
        assert (stopped.state, stopped.stop_reason) == (EnrollmentState.stopped, reason)
    (event,) = await _timeline(client, made["lead"].id)  # the answer had no effect of its own
    assert event["title"].startswith("ada@prospect.example suppressed")
    assert event["detail"].startswith(f"Label corrected to {kind}")

    # The other opt-out: the suppression and the stops are in place, nothing is applied again.
    other = {"kind": "complaint", "label": "abuse"} if kind == "unsubscribe" else {
        "kind": "unsubscribe", "label": None}  # fmt: skip
    twice = await client.put(url, json=other)
    assert twice.status_code == 200 and twice.json()["applied"] == []
    assert twice.json()["classification"]["effects"] == fixed.json()["classification"]["effects"]
    assert len(await _suppressions(runtime, owner.workspace_id)) == 1


async def test_a_hard_bounce_correction_suppresses_the_address_and_stops_the_enrollment(
    client: httpx.AsyncClient, runtime: Runtime, owner: Account
) -> None:
    made = await _answered(runtime, owner.workspace_id, INTERESTED, stop_rules=GOES_ON)
    url = f"/v1/messages/{made['answer'].id}/classification"

    fixed = await client.put(url, json={"kind": "bounce", "label": "user_unknown"})
    assert fixed.status_code == 200, fixed.text
    assert [s.split(" (corrected by ")[0] for s in fixed.json()["applied"]] == [
        "ada@prospect.example suppressed (bounced).",
        "1 enrollment(s) stopped.",
    ]
    assert fixed.json()["classification"]["bounce_type"] == "hard"
    (row,) = await _suppressions(runtime, owner.workspace_id)
    assert (row.value, row.reason) == ("ada@prospect.example", "bounced")
    stopped = await _enrollment(runtime, made["enrollment_id"])
    assert (stopped.state, stopped.stop_reason) == (EnrollmentState.stopped, "bounced")
    async with runtime.db.session() as session:
        ours = await session.get(Message, made["ours"].id)
        assert ours is not None and ours.status == MessageStatus.bounced
    # Another hard bounce label: in place already.
    again = await client.put(url, json={"kind": "bounce", "label": "bad_domain"})
    assert again.json()["applied"] == []


async def test_an_out_of_office_correction_pauses_and_moving_away_leaves_it_paused(
    client: httpx.AsyncClient, runtime: Runtime, owner: Account
) -> None:
    made = await _answered(runtime, owner.workspace_id, INTERESTED, stop_rules=GOES_ON)
    url = f"/v1/messages/{made['answer'].id}/classification"
    before = datetime.now(UTC)

    away = await client.put(url, json={"kind": "auto_reply", "label": "out_of_office"})
    assert away.status_code == 200, away.text
    (said,) = away.json()["applied"]
    assert said.startswith("Enrollment paused until") and "(out of office)" in said
    paused = await _enrollment(runtime, made["enrollment_id"])
    assert (paused.state, paused.stop_reason) == (EnrollmentState.paused, "out_of_office")
    assert paused.resume_at is not None and paused.resume_at >= before + timedelta(days=13)

    ticket = await client.put(url, json={"kind": "auto_reply", "label": "ticket"})
    assert ticket.json()["applied"] == []
    (kept,) = ticket.json()["not_undone"]
    eid = str(made["enrollment_id"])
    assert kept["effect"] == "enrollment_paused" and kept["enrollment_id"] == eid
    assert kept["api"] == f"POST /v1/enrollments/{eid}/resume"
    assert kept["command"] == f"leadflood sequences enrollments resume {eid}"
    assert (await _enrollment(runtime, made["enrollment_id"])).state == EnrollmentState.paused
    # The way it names works.
    resumed = await client.post(f"/v1/enrollments/{eid}/resume")
    assert resumed.status_code == 200 and resumed.json()["state"] == "active"


async def test_a_correction_away_from_a_stop_does_not_undo_it_and_says_how(
    client: httpx.AsyncClient, runtime: Runtime, owner: Account
) -> None:
    made = await _answered(runtime, owner.workspace_id, UNSUBSCRIBE)
    assert made["answer"].classification["kind"] == "unsubscribe"
    url = f"/v1/messages/{made['answer'].id}/classification"

    fixed = await client.put(url, json={"kind": "auto_reply", "label": "ticket"})
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["applied"] == []
    kept = {k["effect"]: k for k in fixed.json()["not_undone"]}
    assert set(kept) == {"enrollment_stopped", "suppressed"}
    (row,) = await _suppressions(runtime, owner.workspace_id)
    assert kept["suppressed"]["suppression_id"] == str(row.id)
    assert kept["suppressed"]["api"] == f"DELETE /v1/suppressions/{row.id}"
    assert kept["suppressed"]["page"] == "/suppressions?q=ada%40prospect.example"
    stop = kept["enrollment_stopped"]
    assert stop["enrollment_id"] == str(made["enrollment_id"]) and stop["api"] is None
    assert "stays stopped (unsubscribed)" in stop["text"]
    stopped = await _enrollment(runtime, made["enrollment_id"])
    assert (stopped.state, stopped.stop_reason) == (EnrollmentState.stopped, "unsubscribed")

    removed = await client.delete(f"/v1/suppressions/{row.id}")
    assert removed.status_code == 204
    # From a label that had no effect of its own, a correction has nothing to say.
    again = await client.put(url, json={"kind": "auto_reply", "label": "auto_reply"})
    assert again.json()["not_undone"] == [] and again.json()["applied"] == []


async def test_the_effects_are_written_in_the_correction_s_transaction(
    runtime: Runtime, owner: Account
) -> None:
    made = await _answered(runtime, owner.workspace_id, INTERESTED, stop_rules=GOES_ON)
    data = ClassificationUpdate(kind="unsubscribe", label=None)

    class Refused(Exception):
        pass

    with pytest.raises(Refused):
        async with runtime.db.session() as session:
            workspace = await session.get(Workspace, owner.workspace_id)
            assert workspace is not None
            by = CurrentMember(workspace=workspace, role=Role.owner, via="cli")
            done = await inbox.correct(
                session, made["answer"].id, data, by=by, now=datetime.now(UTC)
            )
            assert done.effects and done.message.classification["effects"][-2:] == done.effects
            listed = await session.scalar(select(func.count()).select_from(Suppression))
            assert listed == 1
            raise Refused()
    # Rolled back together: no label, no suppression, no stop, no audit entry.
    assert (await _stored(runtime, made["answer"].id))["kind"] == "reply"
    assert await _suppressions(runtime, owner.workspace_id) == []
    assert (await _enrollment(runtime, made["enrollment_id"])).state == EnrollmentState.active
    async with runtime.db.session() as session:
        audited = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "message.classification_corrected")
        )
    assert audited == 0


async def test_the_thread_page_shows_what_stays_and_links_to_undo_it(
    anon_client: httpx.AsyncClient, runtime: Runtime, owner: Account
) -> None:
    await browser_login(anon_client, owner)
    made = await _answered(runtime, owner.workspace_id, INTERESTED)
    thread, answer = made["thread"], made["answer"]
    page = await anon_client.get(f"/inbox/{thread.id}")
    token = csrf_of(page.text)

    moved = await anon_client.post(
        f"/inbox/{thread.id}/messages/{answer.id}/classification",
        data={"csrf_token": token, "classification": "auto_reply:out_of_office"},
    )
    assert moved.status_code == 303
    location = moved.headers["location"]
    assert "notice=corrected" in location and "was=reply" in location
    after = await anon_client.get(location)
    assert "Not undone by the correction" in after.text
    assert "stays stopped (replied)" in after.text
    sequence_id = made["sequence"].id
    assert f'href="/sequences/{sequence_id}/enrollments?state=stopped"' in after.text
    # The out-of-office did not pause a stopped enrollment, nor was the stop undone.
    stopped = await _enrollment(runtime, made["enrollment_id"])
    assert (stopped.state, stopped.stop_reason) == (EnrollmentState.stopped, "replied")

    opted = await anon_client.post(
        f"/inbox/{thread.id}/messages/{answer.id}/classification",
        data={"csrf_token": token, "classification": "unsubscribe:"},
    )
    shown = await anon_client.get(opted.headers["location"])
    assert "Not undone by the correction" not in shown.text
    assert f"(corrected by {owner.email})" in shown.text  # the effect, with its cause

    back = await anon_client.post(
        f"/inbox/{thread.id}/messages/{answer.id}/classification",
        data={"csrf_token": token, "classification": "reply:other"},
    )
    undo = await anon_client.get(back.headers["location"])
    assert "stays on the suppression list (unsubscribed)" in undo.text
    assert 'href="/suppressions?q=ada%40prospect.example"' in undo.text
    listing = await anon_client.get("/suppressions?q=ada%40prospect.example")
    assert listing.status_code == 200 and "ada@prospect.example" in listing.text
    # Only after a correction: a plain visit shows no notice.
    plain = await anon_client.get(f"/inbox/{thread.id}")
    assert "Not undone by the correction" not in plain.text


def _cli(tmp_path: Path, database_url: str, *args: str) -> Any:
    return run_cli(
        tmp_path, database_url, "inbox", "correct", *args, "--workspace", "Acme", COLUMNS="200"
    )


async def test_correct_from_the_command_line(
    tmp_path: Path, database_url: str, runtime: Runtime, owner: Account
) -> None:
    made = await _answered(runtime, owner.workspace_id, INTERESTED, stop_rules=GOES_ON)
    answer = str(made["answer"].id)

    wrong = _cli(tmp_path, database_url, answer, "--kind", "reply", "--label", "out_of_office")
    assert wrong.returncode == 2 and "validation_error" in wrong.stderr
    assert "label must be one of" in wrong.stderr
    unknown_kind = _cli(tmp_path, database_url, answer, "--kind", "spam")
    assert unknown_kind.returncode == 2 and "validation_error: kind" in unknown_kind.stderr
    ours = _cli(tmp_path, database_url, str(made["ours"].id), "--kind", "reply", "--label", "other")
    assert ours.returncode == 1 and "not_inbound" in ours.stderr
    missing = _cli(tmp_path, database_url, str(uuid.uuid4()), "--kind", "unsubscribe")
    assert missing.returncode == 1 and "message_not_found" in missing.stderr

    fixed = _cli(tmp_path, database_url, answer, "--kind", "bounce", "--label", "user_unknown",
                 "--json")  # fmt: skip
    assert fixed.returncode == 0, fixed.stderr
    body = json.loads(fixed.stdout)
    assert body["classification"]["kind"] == "bounce"
    assert body["applied"][0] == (
        "ada@prospect.example suppressed (bounced). (corrected by command line)"
    )
    stopped = await _enrollment(runtime, made["enrollment_id"])
    assert (stopped.state, stopped.stop_reason) == (EnrollmentState.stopped, "bounced")

    back = _cli(tmp_path, database_url, answer, "--kind", "reply", "--label", "question")
    assert back.returncode == 0, back.stderr
    assert "now reply / question" in back.stdout and "Not undone" in back.stdout
    (row,) = await _suppressions(runtime, owner.workspace_id)
    assert f"leadflood suppressions remove {row.id}" in back.stdout
    same = _cli(tmp_path, database_url, answer, "--kind", "reply", "--label", "question", "--json")
    assert json.loads(same.stdout)["applied"] == []


async def test_a_soft_bounce_set_by_a_person_counts_toward_the_recipient_s_next_ones(
    client: httpx.AsyncClient, runtime: Runtime, owner: Account
) -> None:
    from leadflood.inbox import effects

    made = await _answered(runtime, owner.workspace_id, INTERESTED, stop_rules=GOES_ON)
    url = f"/v1/messages/{made['answer'].id}/classification"
    fixed = await client.put(url, json={"kind": "bounce", "label": "mailbox_full"})
    assert fixed.status_code == 200, fixed.text
    stored = await _stored(runtime, made["answer"].id)
    # The address it returns is the one our message went to, kept for the count.
    assert (stored["bounce_type"], stored["recipient"]) == ("soft", "ada@prospect.example")
    async with runtime.db.session() as session:
        counted = await effects._soft_bounces(
            session, owner.workspace_id, {"ada@prospect.example"}, datetime.now(UTC)
        )
    assert counted == {"ada@prospect.example": 1}


async def test_a_hard_bounce_correction_marks_our_message_though_the_address_was_suppressed(
    client: httpx.AsyncClient, runtime: Runtime, owner: Account
) -> None:
    made = await _answered(runtime, owner.workspace_id, UNSUBSCRIBE)
    assert await _suppressions(runtime, owner.workspace_id)  # the rules' opt-out
    url = f"/v1/messages/{made['answer'].id}/classification"
    fixed = await client.put(url, json={"kind": "bounce", "label": "user_unknown"})
    assert fixed.status_code == 200, fixed.text
    async with runtime.db.session() as session:
        ours = await session.get(Message, made["ours"].id)
        assert ours is not None and ours.status == MessageStatus.bounced


async def test_a_suppression_made_by_hand_is_not_listed_as_the_correction_s_to_undo(
    client: httpx.AsyncClient, runtime: Runtime, owner: Account
) -> None:
    from leadflood.suppressions import service as suppression

    async with runtime.db.session() as session:
        await suppression.add(
            session, owner.workspace_id, "email", "ada@prospect.example", "manual", "manual"
        )
    made = await _answered(runtime, owner.workspace_id, UNSUBSCRIBE)
    url = f"/v1/messages/{made['answer'].id}/classification"
    fixed = await client.put(url, json={"kind": "reply", "label": "interested"})
    assert fixed.status_code == 200, fixed.text
    # The person was on the list before the inbox heard them: nothing of the opt-out's to undo
    # (and a reply stops the enrollment too).
    assert fixed.json()["not_undone"] == []

"""The sandbox's simulated recipients answer what a catcher mailbox sent them, through the
inbox's pipeline: each kind of answer arrives with its label and its effect, none before the
delay, none from a real mailbox or an outsider, and nothing is answered twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from leadflood.demo import tasks
from leadflood.demo.catcher import ensure_demo_mailbox
from leadflood.models import (
    Enrollment,
    EnrollmentState,
    InboundItem,
    Message,
    MessageStatus,
    Suppression,
)
from leadflood.providers.sandbox import answers
from leadflood.providers.sandbox.source import default_universe
from leadflood.runtime import Runtime
from tests.factories import (
    make_bare_sequence,
    make_enrollment,
    make_lead,
    make_mailbox,
    make_workspace,
    queue_message,
)

KINDS = (*answers.REPLY_KINDS, "bounce", None)


def _people() -> dict[str | None, list[str]]:
    universe, found, i = default_universe(), {}, 0
    while any(len(found.get(k, [])) < 2 for k in KINDS):
        person = universe.person(i)
        i += 1
        if person.email:
            found.setdefault(answers.answer_kind(person.email), []).append(person.email)
    return found


async def test_each_kind_of_answer_arrives_with_its_label_and_effect_once(
    runtime: Runtime, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    people = _people()
    enrollments: dict[str, object] = {}
    async with runtime.db.session() as session:
        ws = await make_workspace(session, "Demo")
        demo = await ensure_demo_mailbox(session, ws.id, 2525, tmp_path / "inbox")
        real = await make_mailbox(session, ws.id, name="Real")
        sequence, (step,) = await make_bare_sequence(session, ws.id)

        async def send(email: str, box: object, ago: int) -> Enrollment:
            lead = await make_lead(session, ws.id, email=email, first_name="Ada")
            enrollment = await make_enrollment(session, ws.id, sequence.id, lead.id)
            sent = await queue_message(
                session, runtime.settings, box, lead, enrollment=enrollment, step=step
            )
            sent.status, sent.sent_at = MessageStatus.sent, now - timedelta(seconds=ago)
            return enrollment

        for kind in KINDS:
            enrollments[str(kind)] = await send(people[kind][0], demo, 60)
        too_soon = await send(people["interested"][1], demo, 5)
        from_real = await send(people["bounce"][1], real, 60)
        outsider = await send("reply@real-company.example", demo, 60)

    assert await tasks.answer_due(runtime, now) == 7  # six reply kinds and a bounce
    assert await tasks.answer_due(runtime, now) == 0
    # Past the delay the late one answers, and still nothing else does.
    assert await tasks.answer_due(runtime, now + timedelta(seconds=30)) == 1

    async with runtime.db.sessions() as session:
        inbound = {
            m.enrollment_id: m
            for m in await session.scalars(select(Message).where(Message.direction == "inbound"))
        }
        states = {e.id: e for e in await session.scalars(select(Enrollment))}
        suppressed = set(await session.scalars(select(func.lower(Suppression.value))))
        sources = set(await session.scalars(select(InboundItem.source)))
    assert sources == {"sandbox"}
    assert len(inbound) == 8
    for kind in ("interested", "not_interested", "question", "referral"):
        enrollment = enrollments[kind]
        answer = inbound[enrollment.id]  # type: ignore[attr-defined]
        assert (answer.classification["kind"], answer.classification["label"]) == ("reply", kind)
        assert states[enrollment.id].state == EnrollmentState.stopped  # type: ignore[attr-defined]
    referral = inbound[enrollments["referral"].id]  # type: ignore[attr-defined]
    assert referral.classification["referral_email"]

    unsubscribed = enrollments["unsubscribe"]
    assert inbound[unsubscribed.id].classification["kind"] == "unsubscribe"  # type: ignore[attr-defined]
    assert states[unsubscribed.id].state == EnrollmentState.stopped  # type: ignore[attr-defined]
    assert people["unsubscribe"][0] in suppressed

    away = enrollments["out_of_office"]
    answer = inbound[away.id]  # type: ignore[attr-defined]
    assert (answer.classification["kind"], answer.classification["label"]) == (
        "auto_reply",
        "out_of_office",
    )
    back = datetime.fromisoformat(answer.classification["return_date"]).date()
    assert 3 <= (back - now.date()).days <= 6
    assert states[away.id].state == EnrollmentState.paused  # type: ignore[attr-defined]
    assert states[away.id].resume_at.date() > back - timedelta(days=1)  # type: ignore[attr-defined]

    bounced = enrollments["bounce"]
    assert inbound[bounced.id].classification["kind"] == "bounce"  # type: ignore[attr-defined]
    assert states[bounced.id].state == EnrollmentState.stopped  # type: ignore[attr-defined]
    assert people["bounce"][0] in suppressed

    silent = enrollments["None"]
    for untouched in (silent, from_real, outsider):
        assert untouched.id not in inbound  # type: ignore[attr-defined]
        assert states[untouched.id].state == EnrollmentState.active  # type: ignore[attr-defined]
    assert too_soon.id in inbound


def test_the_answers_run_every_15_seconds_in_the_worker() -> None:
    from leadflood import jobs

    jobs.app.perform_import_paths()
    periodic = {p.periodic_id: p.cron for p in jobs.app.periodic_registry.periodic_tasks.values()}
    assert periodic["demo-sandbox-answers"] == "* * * * * */15"

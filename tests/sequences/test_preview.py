from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from leadflood.models import Enrollment, Message, UnsubscribeToken, VerificationStatus
from leadflood.runtime import Runtime
from leadflood.sequences import enrollment, preview, scheduler, steps
from leadflood.sequences import service as sequences
from leadflood.sequences.schemas import EnrollRequest, StepCreate, VariantIn
from tests.factories import make_lead, make_mailbox, make_sequence, make_workspace

FRIDAY_3PM_NEW_YORK = datetime(2025, 3, 7, 20, 0, tzinfo=UTC)
WORKDAYS = {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}


async def _counts(runtime: Runtime) -> tuple[int, int, int]:
    async with runtime.db.session() as session:
        return (
            await session.scalar(select(func.count()).select_from(Enrollment)) or 0,
            await session.scalar(select(func.count()).select_from(Message)) or 0,
            await session.scalar(select(func.count()).select_from(UnsubscribeToken)) or 0,
        )


async def test_timeline_in_the_leads_zone_is_a_dry_run(runtime: Runtime) -> None:
    now = FRIDAY_3PM_NEW_YORK
    async with runtime.db.session() as session:
        ws = (await make_workspace(session)).id
        mailbox = await make_mailbox(session, ws)
        seq = await make_sequence(
            session,
            ws,
            mailboxes=[mailbox],
            window=WORKDAYS,
            timezone="Europe/Paris",
            step_specs=[
                (0, "hours", "Hi {{ first_name }}", "Hello {{ first_name }} at {{ company_name }}"),
                (2, "business_days", "", "Second"),
                (1, "days", "Last one, {{ first_name }}", "Third"),
            ],
            now=now,
        )
        seq = await steps.add(
            session,
            ws,
            seq.id,
            StepCreate(
                delay_amount=4,
                delay_unit="hours",
                variants=[VariantIn(subject="A {{ first_name }}"), VariantIn(subject="B")],
            ),
        )
        lead = await make_lead(
            session,
            ws,
            first_name="Linus",
            timezone="America/New_York",
            company_name="Initech",
            verification_status=VerificationStatus.valid,
        )
    before = await _counts(runtime)
    async with runtime.db.session() as session:
        seq = await sequences.get(session, ws, seq.id)
        planned = await preview.timeline(session, seq, lead, now, settings=runtime.settings)
    assert await _counts(runtime) == before
    assert [p.position for p in planned] == [1, 2, 3, 4]
    assert [p.local_time for p in planned] == [
        "Fri 2025-03-07 15:00",  # inside the window now
        "Tue 2025-03-11 15:00",  # two business days, across the US DST change on Sunday
        "Wed 2025-03-12 15:00",
        "Thu 2025-03-13 09:00",  # 19:00 is after hours: the next morning
    ]
    assert planned[1].send_at == datetime(2025, 3, 11, 19, 0, tzinfo=UTC)
    assert {p.timezone for p in planned} == {"America/New_York"}
    assert planned[0].subject == "Hi Linus"
    assert planned[0].body.startswith("Hello Linus at Initech")
    assert "Acme Inc, 1 Main Street, Springfield" in planned[0].body
    assert planned[1].subject == "Re: Hi Linus"
    assert planned[2].subject == "Last one, Linus"

    # The variant shown is the one the lead gets.
    async with runtime.db.session() as session:
        await enrollment.enroll(session, ws, seq.id, EnrollRequest(lead_ids=[lead.id]), now=now)
    for moment in (p.send_at for p in planned):
        await scheduler.run_until_idle(runtime.db, runtime.settings, now=moment)
    async with runtime.db.session() as session:
        sent = list((await session.scalars(select(Message).order_by(Message.send_after))).all())
    assert [m.subject for m in sent] == [p.subject for p in planned]
    assert [m.send_after for m in sent] == [p.send_at for p in planned]

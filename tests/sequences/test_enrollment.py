from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import func, select

from leadflood.db.engine import Database
from leadflood.models import (
    Enrollment,
    EnrollmentState,
    Icp,
    SearchOutcome,
    SearchResult,
    SearchRun,
    SequenceState,
    VerificationStatus,
)
from leadflood.sequences import enrollment
from leadflood.sequences import service as sequences
from leadflood.sequences.errors import InvalidEnrollSource, SequenceArchived
from leadflood.sequences.schemas import EnrollRequest, LeadFilter
from leadflood.suppressions import service as suppression
from tests.factories import (
    FIXED_NOW,
    make_lead,
    make_mailbox,
    make_sequence,
    make_workspace,
)


async def test_skips_are_counted_by_reason(db: Database) -> None:
    async with db.session() as session:
        ws = (await make_workspace(session)).id
        mailbox = await make_mailbox(session, ws)
        seq = await make_sequence(session, ws, mailboxes=[mailbox])
        other = await make_sequence(session, ws, mailboxes=[mailbox])
        good = [
            await make_lead(
                session, ws, first_name="Ada", verification_status=VerificationStatus.valid
            )
            for _ in range(3)
        ]
        no_email = await make_lead(
            session, ws, email=None, first_name="Ada", verification_status=VerificationStatus.valid
        )
        invalid = await make_lead(
            session, ws, first_name="Ada", verification_status=VerificationStatus.invalid
        )
        unsubscribed = await make_lead(
            session, ws, first_name="Ada", verification_status=VerificationStatus.valid
        )
        blocked_domain = await make_lead(
            session,
            ws,
            email="ceo@blocked.example",
            first_name="Ada",
            verification_status=VerificationStatus.valid,
        )
        busy = await make_lead(
            session, ws, first_name="Ada", verification_status=VerificationStatus.valid
        )
        await suppression.add(session, ws, "email", unsubscribed.email or "", "unsubscribed", "t")
        await suppression.add(session, None, "domain", "blocked.example", "do_not_contact", "t")
        await enrollment.enroll(
            session, ws, other.id, EnrollRequest(lead_ids=[busy.id]), now=FIXED_NOW
        )
        await enrollment.enroll(
            session, ws, seq.id, EnrollRequest(lead_ids=[good[0].id]), now=FIXED_NOW
        )
        foreign_ws = (await make_workspace(session)).id
        foreign = await make_lead(
            session, foreign_ws, first_name="Ada", verification_status=VerificationStatus.valid
        )
        ids = [g.id for g in good] + [
            no_email.id,
            invalid.id,
            unsubscribed.id,
            blocked_domain.id,
            busy.id,
            foreign.id,
            uuid.uuid4(),
        ]
        result = await enrollment.enroll(
            session, ws, seq.id, EnrollRequest(lead_ids=ids), now=FIXED_NOW
        )
        assert result.enrolled == 2
        assert result.skipped == {
            "not_found": 2,
            "already_enrolled": 1,
            "suppressed": 2,
            "invalid": 2,
            "active_elsewhere": 1,
            "below_min_score": 0,
            "unverified_email": 0,
        }
        rows = (
            await session.execute(
                select(Enrollment.lead_id, Enrollment.state, Enrollment.next_run_at).where(
                    Enrollment.sequence_id == seq.id
                )
            )
        ).all()
        assert {r[0] for r in rows} == {g.id for g in good}
        assert all(r[1] == EnrollmentState.active and r[2] == FIXED_NOW for r in rows)


async def test_active_elsewhere_is_configurable(db: Database) -> None:
    async with db.session() as session:
        ws = (await make_workspace(session)).id
        mailbox = await make_mailbox(session, ws)
        first = await make_sequence(session, ws, mailboxes=[mailbox])
        relaxed = await make_sequence(
            session, ws, mailboxes=[mailbox], stop_rules={"skip_if_active_elsewhere": False}
        )
        lead = await make_lead(
            session, ws, first_name="Ada", verification_status=VerificationStatus.valid
        )
        request = EnrollRequest(lead_ids=[lead.id])
        await enrollment.enroll(session, ws, first.id, request, now=FIXED_NOW)
        result = await enrollment.enroll(session, ws, relaxed.id, request, now=FIXED_NOW)
        assert result.enrolled == 1


async def test_enroll_by_filter_is_set_based(db: Database) -> None:
    async with db.session() as session:
        ws = (await make_workspace(session)).id
        mailbox = await make_mailbox(session, ws)
        seq = await make_sequence(session, ws, mailboxes=[mailbox], activate=False)
        for i in range(40):
            await make_lead(
                session,
                ws,
                score=i,
                company_name="Globex" if i % 2 else "Initech",
                first_name="Ada",
                verification_status=VerificationStatus.valid,
            )
        result = await enrollment.enroll(
            session,
            ws,
            seq.id,
            EnrollRequest(filter=LeadFilter(min_score=20, q="globex")),
            now=FIXED_NOW,
        )
        assert result.enrolled == 10
        # A draft sequence parks its enrollments until it is activated.
        parked = await session.scalar(
            select(func.count()).where(
                Enrollment.sequence_id == seq.id, Enrollment.next_run_at.is_(None)
            )
        )
        assert parked == 10
        await sequences.transition(session, ws, seq.id, SequenceState.active, now=FIXED_NOW)
        due = await session.scalar(
            select(func.count()).where(
                Enrollment.sequence_id == seq.id, Enrollment.next_run_at == FIXED_NOW
            )
        )
        assert due == 10


async def test_enroll_a_search_run(db: Database) -> None:
    async with db.session() as session:
        ws = (await make_workspace(session)).id
        mailbox = await make_mailbox(session, ws)
        seq = await make_sequence(session, ws, mailboxes=[mailbox])
        icp = Icp(workspace_id=ws, name="ICP")
        session.add(icp)
        await session.flush()
        run = SearchRun(
            workspace_id=ws,
            icp_id=icp.id,
            source="sandbox",
            params={},
            params_hash="h",
            run_day=date(2025, 3, 3),
        )
        session.add(run)
        await session.flush()
        outcomes = [SearchOutcome.created, SearchOutcome.updated, SearchOutcome.duplicate]
        leads = []
        for i, outcome in enumerate(outcomes):
            lead = await make_lead(
                session, ws, first_name="Ada", verification_status=VerificationStatus.valid
            )
            leads.append(lead)
            session.add(
                SearchResult(
                    workspace_id=ws,
                    run_id=run.id,
                    source_id=str(i),
                    page=1,
                    raw={},
                    lead_id=lead.id,
                    outcome=outcome,
                )
            )
        await make_lead(
            session, ws, first_name="Ada", verification_status=VerificationStatus.valid
        )  # not from this run
        await session.flush()
        result = await enrollment.enroll(
            session, ws, seq.id, EnrollRequest(search_run_id=run.id), now=FIXED_NOW
        )
        assert result.enrolled == 2


async def test_source_must_be_exactly_one(db: Database) -> None:
    async with db.session() as session:
        ws = (await make_workspace(session)).id
        mailbox = await make_mailbox(session, ws)
        seq = await make_sequence(session, ws, mailboxes=[mailbox])
        with pytest.raises(InvalidEnrollSource):
            await enrollment.enroll(session, ws, seq.id, EnrollRequest(), now=FIXED_NOW)
        with pytest.raises(InvalidEnrollSource):
            await enrollment.enroll(
                session,
                ws,
                seq.id,
                EnrollRequest(lead_ids=[], filter=LeadFilter()),
                now=FIXED_NOW,
            )
        await sequences.transition(session, ws, seq.id, SequenceState.archived, now=FIXED_NOW)
        with pytest.raises(SequenceArchived):
            await enrollment.enroll(session, ws, seq.id, EnrollRequest(lead_ids=[]), now=FIXED_NOW)


async def test_pause_resume_stop_in_bulk(db: Database) -> None:
    async with db.session() as session:
        ws = (await make_workspace(session)).id
        mailbox = await make_mailbox(session, ws)
        seq = await make_sequence(session, ws, mailboxes=[mailbox])
        leads = [
            await make_lead(
                session, ws, first_name="Ada", verification_status=VerificationStatus.valid
            )
            for _ in range(3)
        ]
        await enrollment.enroll(
            session, ws, seq.id, EnrollRequest(lead_ids=[x.id for x in leads]), now=FIXED_NOW
        )
        page = (await enrollment.list_page(session, ws, seq.id, limit=10)).items
        ids = [e.id for e in page]
        assert await enrollment.act(session, ws, "pause", ids[:2], now=FIXED_NOW) == 2
        assert await enrollment.act(session, ws, "pause", ids[:2], now=FIXED_NOW) == 0
        assert await enrollment.act(session, ws, "resume", ids, now=FIXED_NOW) == 2
        assert await enrollment.act(session, ws, "stop", ids[:1], now=FIXED_NOW) == 1
        other_ws = (await make_workspace(session)).id
        assert await enrollment.act(session, other_ws, "stop", ids, now=FIXED_NOW) == 0
        states = dict(
            (
                await session.execute(
                    select(Enrollment.id, Enrollment.state).where(Enrollment.id.in_(ids))
                )
            ).all()
        )
        assert states[ids[0]] == EnrollmentState.stopped
        assert states[ids[1]] == states[ids[2]] == EnrollmentState.active


async def test_a_selection_larger_than_the_parameter_limit(db: Database) -> None:
    async with db.session() as session:
        ws = (await make_workspace(session)).id
        mailbox = await make_mailbox(session, ws)
        seq = await make_sequence(session, ws, mailboxes=[mailbox])
        real = [
            await make_lead(
                session, ws, first_name="Ada", verification_status=VerificationStatus.valid
            )
            for _ in range(2)
        ]
        ids = [uuid.uuid4() for _ in range(70_000)] + [x.id for x in real]
        result = await enrollment.enroll(
            session, ws, seq.id, EnrollRequest(lead_ids=ids), now=FIXED_NOW
        )
        assert result.enrolled == 2
        assert result.skipped["not_found"] == 70_000


async def test_entry_rules_skip_low_scores_and_unverified_emails(db: Database) -> None:
    async with db.session() as session:
        ws = (await make_workspace(session)).id
        mailbox = await make_mailbox(session, ws)
        seq = await make_sequence(session, ws, mailboxes=[mailbox])
        seq.min_score = 60
        seq.require_verified_email = True
        valid = VerificationStatus.valid
        fit = await make_lead(session, ws, score=60, verification_status=valid)
        low = await make_lead(session, ws, score=59, verification_status=valid)
        unscored = await make_lead(session, ws, score=None, verification_status=valid)
        risky = await make_lead(session, ws, score=90, verification_status=VerificationStatus.risky)
        unverified = await make_lead(session, ws, score=95)
        ids = [fit.id, low.id, unscored.id, risky.id, unverified.id]
        result = await enrollment.enroll(
            session, ws, seq.id, EnrollRequest(lead_ids=ids), now=FIXED_NOW
        )
        assert result.enrolled == 1
        assert result.skipped["below_min_score"] == 2
        assert result.skipped["unverified_email"] == 2
        seq.min_score = None
        seq.require_verified_email = False
        await session.flush()
        again = await enrollment.enroll(
            session, ws, seq.id, EnrollRequest(lead_ids=ids), now=FIXED_NOW
        )
        assert again.enrolled == 4 and again.skipped["already_enrolled"] == 1

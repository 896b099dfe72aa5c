from __future__ import annotations

import pytest

from leadflood.db.engine import Database
from leadflood.models import EnrollmentState, MailboxState, SequenceState, VerificationStatus
from leadflood.sequences import enrollment, steps
from leadflood.sequences import service as sequences
from leadflood.sequences.errors import (
    InvalidTemplate,
    InvalidTransition,
    SequenceArchived,
    SequenceNotReady,
    UnknownMailbox,
)
from leadflood.sequences.schemas import (
    EnrollRequest,
    SequenceCreate,
    SequenceUpdate,
    StepCreate,
    StepUpdate,
    VariantIn,
)
from tests.factories import (
    FIXED_NOW,
    make_lead,
    make_mailbox,
    make_sequence,
    make_workspace,
)

S = SequenceState


def _step(subject: str = "Hi", body: str = "Hello {{ first_name }}", **kw: object) -> StepCreate:
    return StepCreate(variants=[VariantIn(subject=subject, body=body)], **kw)  # type: ignore[arg-type]


async def test_transitions_follow_the_state_machine(db: Database) -> None:
    async with db.session() as session:
        ws = (await make_workspace(session)).id
        mailbox = await make_mailbox(session, ws)
        seq = await make_sequence(session, ws, mailboxes=[mailbox], activate=False)
        assert seq.state == S.draft
        with pytest.raises(InvalidTransition) as caught:
            await sequences.transition(session, ws, seq.id, S.paused, now=FIXED_NOW)
        assert caught.value.status == 409
        assert caught.value.code == "invalid_transition"
        assert caught.value.details == {"from": "draft", "to": "paused"}
        for state in (S.active, S.paused, S.active, S.archived):
            seq = await sequences.transition(session, ws, seq.id, state, now=FIXED_NOW)
            assert seq.state == state
        for state in S:
            with pytest.raises(InvalidTransition) as caught:
                await sequences.transition(session, ws, seq.id, state, now=FIXED_NOW)
            assert caught.value.details == {"from": "archived", "to": state.value}
        with pytest.raises(SequenceArchived):
            await sequences.update_settings(session, ws, seq.id, SequenceUpdate(name="x"))


async def test_draft_to_archived_and_active_to_active_refused(db: Database) -> None:
    async with db.session() as session:
        ws = (await make_workspace(session)).id
        mailbox = await make_mailbox(session, ws)
        seq = await make_sequence(session, ws, mailboxes=[mailbox])
        with pytest.raises(InvalidTransition):
            await sequences.transition(session, ws, seq.id, S.active, now=FIXED_NOW)
        with pytest.raises(InvalidTransition):
            await sequences.transition(session, ws, seq.id, S.draft, now=FIXED_NOW)
        draft = await make_sequence(session, ws, mailboxes=[mailbox], activate=False)
        archived = await sequences.transition(session, ws, draft.id, S.archived, now=FIXED_NOW)
        assert archived.state == S.archived


async def test_activation_lists_what_is_missing(db: Database) -> None:
    async with db.session() as session:
        ws = (await make_workspace(session)).id
        paused_box = await make_mailbox(session, ws, state=MailboxState.paused)
        seq = await sequences.create(
            session,
            ws,
            SequenceCreate(name="Empty", postal_address="", mailbox_ids=[paused_box.id]),
        )
        with pytest.raises(SequenceNotReady) as caught:
            await sequences.transition(session, ws, seq.id, S.active, now=FIXED_NOW)
        problems = {p["problem"] for p in caught.value.details["problems"]}
        assert problems == {"no_steps", "no_mailbox", "no_postal_address"}
        active_box = await make_mailbox(session, ws)
        await sequences.update_settings(
            session,
            ws,
            seq.id,
            SequenceUpdate(postal_address="1 Main St", mailbox_ids=[active_box.id]),
        )
        await steps.add(session, ws, seq.id, _step())
        seq = await sequences.transition(session, ws, seq.id, S.active, now=FIXED_NOW)
        assert seq.state == S.active
        assert await sequences.mailbox_ids(session, seq.id) == [active_box.id]


async def test_templates_are_validated_when_saved(db: Database) -> None:
    async with db.session() as session:
        ws = (await make_workspace(session)).id
        await make_lead(
            session,
            ws,
            custom_fields={"pain_point": "churn"},
            first_name="Ada",
            verification_status=VerificationStatus.valid,
        )
        seq = await sequences.create(session, ws, SequenceCreate(name="T"))
        with pytest.raises(InvalidTemplate) as caught:
            await steps.add(session, ws, seq.id, _step(body="Hi {{ frist_name }}"))
        assert caught.value.status == 422
        assert caught.value.code == "unknown_variable"
        assert caught.value.details["variable"] == "frist_name"
        assert caught.value.details["field"] == "body"
        with pytest.raises(InvalidTemplate) as caught:
            await steps.add(session, ws, seq.id, _step(subject="{{ custom.budget }}"))
        assert caught.value.details["variable"] == "custom.budget"
        with pytest.raises(InvalidTemplate) as caught:
            await steps.add(session, ws, seq.id, _step(body="{% if %}"))
        assert caught.value.code == "template_syntax"
        seq = await steps.add(session, ws, seq.id, _step(body="About {{ custom.pain_point }}"))
        assert len(seq.steps) == 1
        with pytest.raises(InvalidTemplate):
            await steps.edit(
                session,
                ws,
                seq.id,
                seq.steps[0].id,
                StepUpdate(variants=[VariantIn(subject="{{ sender.phone }}")]),
            )


async def test_positions_stay_dense(db: Database) -> None:
    async with db.session() as session:
        ws = (await make_workspace(session)).id
        seq = await sequences.create(session, ws, SequenceCreate(name="P"))
        for name in ("a", "b", "c"):
            seq = await steps.add(session, ws, seq.id, _step(subject=name))
        seq = await steps.add(session, ws, seq.id, _step(subject="first", position=1))
        assert [s.variants[0].subject for s in seq.steps] == ["first", "a", "b", "c"]
        assert [s.position for s in seq.steps] == [1, 2, 3, 4]
        seq = await steps.move(session, ws, seq.id, seq.steps[0].id, 3)
        assert [s.variants[0].subject for s in seq.steps] == ["a", "b", "first", "c"]
        seq = await steps.remove(session, ws, seq.id, seq.steps[1].id)
        assert [(s.position, s.variants[0].subject) for s in seq.steps] == [
            (1, "a"),
            (2, "first"),
            (3, "c"),
        ]


async def test_variants_get_labels_and_weights(db: Database) -> None:
    async with db.session() as session:
        ws = (await make_workspace(session)).id
        seq = await sequences.create(session, ws, SequenceCreate(name="AB"))
        seq = await steps.add(
            session,
            ws,
            seq.id,
            StepCreate(
                variants=[
                    VariantIn(subject="one", weight=3),
                    VariantIn(subject="two", weight=1),
                ]
            ),
        )
        assert [(v.label, v.weight) for v in seq.steps[0].variants] == [("A", 3), ("B", 1)]
        with pytest.raises(InvalidTemplate) as caught:
            await steps.add(session, ws, seq.id, StepCreate(variants=[VariantIn(weight=0)]))
        assert caught.value.code == "no_variant_weight"


async def test_unknown_mailbox_of_another_workspace(db: Database) -> None:
    async with db.session() as session:
        ws = (await make_workspace(session)).id
        other = (await make_workspace(session)).id
        foreign = await make_mailbox(session, other)
        with pytest.raises(UnknownMailbox):
            await sequences.create(session, ws, SequenceCreate(name="x", mailbox_ids=[foreign.id]))


async def test_archiving_stops_enrollments(db: Database) -> None:
    async with db.session() as session:
        ws = (await make_workspace(session)).id
        mailbox = await make_mailbox(session, ws)
        seq = await make_sequence(session, ws, mailboxes=[mailbox])
        lead = await make_lead(
            session, ws, first_name="Ada", verification_status=VerificationStatus.valid
        )
        await enrollment.enroll(
            session, ws, seq.id, EnrollRequest(lead_ids=[lead.id]), now=FIXED_NOW
        )
        await sequences.transition(session, ws, seq.id, S.archived, now=FIXED_NOW)
        page = (await enrollment.list_page(session, ws, seq.id, limit=10)).items
        assert [(e.state, e.stop_reason) for e in page] == [
            (EnrollmentState.stopped, "sequence_archived")
        ]

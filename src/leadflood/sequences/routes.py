from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from leadflood.auth.errors import UserRequired
from leadflood.auth.principal import CurrentMember
from leadflood.db.scope import get_scoped
from leadflood.errors import Conflict, InvalidInput
from leadflood.leads.service import LeadNotFound
from leadflood.models import EnrollmentState, Lead, Sequence, SequenceState
from leadflood.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from leadflood.sending import service as sending
from leadflood.sequences import editing, enrollment, preview, queries, sample_send
from leadflood.sequences import service as sequences
from leadflood.sequences.api_schemas import (
    EnrollBody,
    EnrollmentRow,
    SequenceReport,
    TestSendRequest,
    TestSendResult,
)
from leadflood.sequences.errors import InvalidTemplate, cannot
from leadflood.sequences.schemas import (
    BulkResult,
    EnrollmentAction,
    EnrollmentRead,
    EnrollResult,
    PlannedStep,
    SequenceCreate,
    SequenceDetail,
    SequenceRead,
    SequenceUpdate,
)
from leadflood.sequences.templating import TemplateError
from leadflood.web.deps import MemberDep, RuntimeDep, SessionDep, ViewerDep
from leadflood.web.idempotency import Idempotent

router = APIRouter(prefix="/v1", tags=["sequences"])
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Cursor = Annotated[str | None, Query(max_length=200)]


class EnrollmentUnchanged(Conflict):
    code = "invalid_transition"
    message = "This enrollment cannot do that in its current state."


class LeadRequired(InvalidInput):
    code = "lead_required"
    message = "Choose the lead to preview with (?lead_id=...)."


def _now() -> datetime:
    return datetime.now(UTC)


async def detail(session: SessionDep, sequence: Sequence) -> SequenceDetail:
    return SequenceDetail.model_validate(
        {
            **SequenceRead.model_validate(sequence).model_dump(),
            "steps": sequence.steps,
            "mailbox_ids": await sequences.mailbox_ids(session, sequence.id),
        }
    )


@router.get("/sequences", response_model=Page[SequenceRead])
async def list_sequences(
    member: ViewerDep,
    session: SessionDep,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
    state: SequenceState | None = None,
) -> Page[SequenceRead]:
    page = await sequences.list_page(
        session, member.workspace_id, limit=limit, cursor=cursor, state=state
    )
    return Page[SequenceRead].of(page, SequenceRead.model_validate)


@router.post(
    "/sequences", status_code=201, response_model=SequenceDetail, dependencies=[Idempotent]
)
async def create_sequence(
    data: SequenceCreate, member: MemberDep, session: SessionDep
) -> SequenceDetail:
    return await detail(
        session, await sequences.create(session, member.workspace_id, data, by=member)
    )


@router.get("/sequences/{sequence_id}", response_model=SequenceDetail)
async def get_sequence(
    sequence_id: uuid.UUID, member: ViewerDep, session: SessionDep
) -> SequenceDetail:
    return await detail(session, await sequences.get(session, member.workspace_id, sequence_id))


@router.patch("/sequences/{sequence_id}", response_model=SequenceDetail)
async def update_sequence(
    sequence_id: uuid.UUID, data: SequenceUpdate, member: MemberDep, session: SessionDep
) -> SequenceDetail:
    sequence = await sequences.update_settings(
        session, member.workspace_id, sequence_id, data, by=member
    )
    return await detail(session, sequence)


@router.delete("/sequences/{sequence_id}", status_code=204)
async def delete_sequence(
    sequence_id: uuid.UUID, member: MemberDep, session: SessionDep
) -> Response:
    """Only a draft nobody is enrolled in (409 `sequence_in_use` otherwise: archive it)."""
    await editing.delete_sequence(session, member.workspace_id, sequence_id, by=member)
    return Response(status_code=204)


async def _transition(
    session: SessionDep,
    member: CurrentMember,
    sequence_id: uuid.UUID,
    action: str,
    links_problem: str | None = None,
) -> SequenceDetail:
    workspace_id = member.workspace_id
    await sequences.apply_action(
        session, workspace_id, sequence_id, action, now=_now(), by=member,
        links_problem=links_problem,
    )  # fmt: skip
    return await detail(session, await sequences.get(session, workspace_id, sequence_id))


@router.post("/sequences/{sequence_id}/activate", response_model=SequenceDetail)
async def activate_sequence(
    sequence_id: uuid.UUID, member: MemberDep, session: SessionDep, runtime: RuntimeDep
) -> SequenceDetail:
    """draft or paused → active; 409 `sequence_not_ready` lists what is missing (among them
    `public_url_private`: its mailbox sends real mail and PUBLIC_URL is not reachable)."""
    return await _transition(
        session, member, sequence_id, "activate", runtime.settings.private_links_problem
    )


@router.post("/sequences/{sequence_id}/pause", response_model=SequenceDetail)
async def pause_sequence(
    sequence_id: uuid.UUID, member: MemberDep, session: SessionDep
) -> SequenceDetail:
    """Unsent messages are withdrawn and planned again on resume."""
    return await _transition(session, member, sequence_id, "pause")


@router.post("/sequences/{sequence_id}/resume", response_model=SequenceDetail)
async def resume_sequence(
    sequence_id: uuid.UUID, member: MemberDep, session: SessionDep, runtime: RuntimeDep
) -> SequenceDetail:
    return await _transition(
        session, member, sequence_id, "resume", runtime.settings.private_links_problem
    )


@router.post("/sequences/{sequence_id}/archive", response_model=SequenceDetail)
async def archive_sequence(
    sequence_id: uuid.UUID, member: MemberDep, session: SessionDep
) -> SequenceDetail:
    """Final: every enrollment stops (reason `sequence_archived`)."""
    return await _transition(session, member, sequence_id, "archive")


@router.post(
    "/sequences/{sequence_id}/enrollments", response_model=EnrollResult, dependencies=[Idempotent]
)
async def enroll_leads(
    sequence_id: uuid.UUID, data: EnrollBody, member: MemberDep, session: SessionDep
) -> EnrollResult:
    """Skipped leads are counted by reason: not_found, already_enrolled, suppressed, invalid,
    active_elsewhere."""
    await sequences.get(session, member.workspace_id, sequence_id)
    return await enrollment.enroll(
        session, member.workspace_id, sequence_id, data.as_request(), now=_now()
    )


@router.get(
    "/sequences/{sequence_id}/enrollments",
    response_model=Page[EnrollmentRow],
)
async def list_enrollments(
    sequence_id: uuid.UUID,
    member: ViewerDep,
    session: SessionDep,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
    state: EnrollmentState | None = None,
) -> Page[EnrollmentRow]:
    page = await enrollment.list_page(
        session, member.workspace_id, sequence_id, limit=limit, cursor=cursor, state=state
    )
    items = await queries.enrollment_rows(session, member.workspace_id, page.items)
    return Page[EnrollmentRow](
        items=items, next_cursor=page.next_cursor, prev_cursor=page.prev_cursor
    )


async def _act_one(
    session: SessionDep, workspace_id: uuid.UUID, enrollment_id: uuid.UUID, action: str
) -> EnrollmentRead:
    await enrollment.get(session, workspace_id, enrollment_id)
    changed = await enrollment.act(session, workspace_id, action, [enrollment_id], now=_now())
    row = await enrollment.get(session, workspace_id, enrollment_id)
    await session.refresh(row)
    if not changed:
        raise EnrollmentUnchanged(
            cannot(
                "enrollment", row.state.value, action, enrollment.ACTION_SOURCES.get(action, ())
            ),
            details={"state": row.state.value, "action": action},
        )
    return EnrollmentRead.model_validate(row)


@router.get("/enrollments/{enrollment_id}", response_model=EnrollmentRow)
async def get_enrollment(
    enrollment_id: uuid.UUID, member: ViewerDep, session: SessionDep
) -> EnrollmentRow:
    """One enrollment: its state, why it stopped (`stop_reason`), and what it waits for."""
    row = await enrollment.get(session, member.workspace_id, enrollment_id)
    (found,) = await queries.enrollment_rows(session, member.workspace_id, [row])
    return found


@router.post("/enrollments/{enrollment_id}/pause", response_model=EnrollmentRead)
async def pause_enrollment(
    enrollment_id: uuid.UUID, member: MemberDep, session: SessionDep
) -> EnrollmentRead:
    return await _act_one(session, member.workspace_id, enrollment_id, "pause")


@router.post("/enrollments/{enrollment_id}/resume", response_model=EnrollmentRead)
async def resume_enrollment(
    enrollment_id: uuid.UUID, member: MemberDep, session: SessionDep
) -> EnrollmentRead:
    return await _act_one(session, member.workspace_id, enrollment_id, "resume")


@router.post("/enrollments/{enrollment_id}/stop", response_model=EnrollmentRead)
async def stop_enrollment(
    enrollment_id: uuid.UUID, member: MemberDep, session: SessionDep
) -> EnrollmentRead:
    """Stopped by hand (reason `manual`); its queued messages are cancelled."""
    return await _act_one(session, member.workspace_id, enrollment_id, "stop")


@router.post("/enrollments/bulk", response_model=BulkResult)
async def bulk_enrollments(
    data: EnrollmentAction, member: MemberDep, session: SessionDep
) -> BulkResult:
    """Ids of other workspaces and enrollments already in the target state are left alone."""
    changed = await enrollment.act(
        session, member.workspace_id, data.action, data.enrollment_ids, now=_now()
    )
    return BulkResult(changed=changed)


@router.get("/sequences/{sequence_id}/preview", response_model=list[PlannedStep])
async def preview_sequence(
    sequence_id: uuid.UUID,
    member: ViewerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    lead_id: uuid.UUID | None = None,
) -> list[PlannedStep]:
    """A dry run for one lead (`lead_id`, required): when each remaining step would go (in the
    lead's zone) and what it would say. Nothing is written."""
    sequence = await sequences.get(session, member.workspace_id, sequence_id)
    if lead_id is None:
        raise LeadRequired()
    lead = await get_scoped(session, Lead, member.workspace_id, lead_id, error=LeadNotFound)
    try:
        return await preview.timeline(session, sequence, lead, _now(), settings=runtime.settings)
    except TemplateError as exc:
        raise InvalidTemplate(exc, field="template", variant="preview") from None


@router.post(
    "/sequences/{sequence_id}/test-send",
    status_code=202,
    response_model=TestSendResult,
    dependencies=[Idempotent],
)
async def test_send(
    sequence_id: uuid.UUID,
    data: TestSendRequest,
    member: MemberDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> TestSendResult:
    """Step N rendered for a real lead, sent to your own address through the chosen mailbox,
    marked as a test; it never counts as the lead's message. Needs a signed-in user."""
    if member.user is None:
        raise UserRequired()
    result = await sample_send.queue_test(
        session,
        runtime.settings,
        member.workspace_id,
        sequence_id,
        data,
        to=member.user.email,
        now=_now(),
    )
    await sending.kick(session, result.mailbox_id)
    return result


@router.get("/sequences/{sequence_id}/stats", response_model=SequenceReport)
async def sequence_stats(
    sequence_id: uuid.UUID, member: ViewerDep, session: SessionDep
) -> SequenceReport:
    return await queries.report(session, member.workspace_id, sequence_id)


def routers() -> list[APIRouter]:
    """This feature's API routers, in the order they are matched."""
    from leadflood.sequences import step_routes

    return [router, step_routes.router]

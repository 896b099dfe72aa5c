"""Steps and their A/B variants, nested under a sequence."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from leadflood.sequences import editing, steps
from leadflood.sequences import service as sequences
from leadflood.sequences.api_schemas import NewStep
from leadflood.sequences.routes import detail as _detail
from leadflood.sequences.schemas import SequenceDetail, StepMove, StepUpdate, VariantIn
from leadflood.web.deps import MemberDep, SessionDep
from leadflood.web.idempotency import Idempotent

router = APIRouter(prefix="/v1/sequences", tags=["sequences"])


@router.post(
    "/{sequence_id}/steps",
    status_code=201,
    response_model=SequenceDetail,
    dependencies=[Idempotent],
)
async def add_step(
    sequence_id: uuid.UUID, data: NewStep, member: MemberDep, session: SessionDep
) -> SequenceDetail:
    """Templates are checked now: an unknown variable answers 422 with the field and line."""
    await sequences.get(session, member.workspace_id, sequence_id)
    sequence = await steps.add(session, member.workspace_id, sequence_id, data.checked(), by=member)
    return await _detail(session, sequence)


@router.patch("/{sequence_id}/steps/{step_id}", response_model=SequenceDetail)
async def edit_step(
    sequence_id: uuid.UUID,
    step_id: uuid.UUID,
    data: StepUpdate,
    member: MemberDep,
    session: SessionDep,
) -> SequenceDetail:
    sequence = await steps.edit(session, member.workspace_id, sequence_id, step_id, data, by=member)
    return await _detail(session, sequence)


@router.post(
    "/{sequence_id}/steps/{step_id}/move",
    response_model=SequenceDetail,
)
async def move_step(
    sequence_id: uuid.UUID,
    step_id: uuid.UUID,
    data: StepMove,
    member: MemberDep,
    session: SessionDep,
) -> SequenceDetail:
    sequence = await steps.move(
        session, member.workspace_id, sequence_id, step_id, data.position, by=member
    )
    return await _detail(session, sequence)


@router.delete("/{sequence_id}/steps/{step_id}", response_model=SequenceDetail)
async def delete_step(
    sequence_id: uuid.UUID, step_id: uuid.UUID, member: MemberDep, session: SessionDep
) -> SequenceDetail:
    sequence = await steps.remove(session, member.workspace_id, sequence_id, step_id, by=member)
    return await _detail(session, sequence)


@router.post(
    "/{sequence_id}/steps/{step_id}/variants",
    status_code=201,
    response_model=SequenceDetail,
    dependencies=[Idempotent],
)
async def add_variant(
    sequence_id: uuid.UUID,
    step_id: uuid.UUID,
    data: VariantIn,
    member: MemberDep,
    session: SessionDep,
) -> SequenceDetail:
    sequence = await editing.add_variant(
        session, member.workspace_id, sequence_id, step_id, data, by=member
    )
    return await _detail(session, sequence)


@router.patch(
    "/{sequence_id}/steps/{step_id}/variants/{variant_id}",
    response_model=SequenceDetail,
)
async def edit_variant(
    sequence_id: uuid.UUID,
    step_id: uuid.UUID,
    variant_id: uuid.UUID,
    data: VariantIn,
    member: MemberDep,
    session: SessionDep,
) -> SequenceDetail:
    """Only the fields given change; the variant keeps its id."""
    sequence = await editing.edit_variant(
        session, member.workspace_id, sequence_id, step_id, variant_id, data, by=member
    )
    return await _detail(session, sequence)


@router.delete(
    "/{sequence_id}/steps/{step_id}/variants/{variant_id}",
    response_model=SequenceDetail,
)
async def delete_variant(
    sequence_id: uuid.UUID,
    step_id: uuid.UUID,
    variant_id: uuid.UUID,
    member: MemberDep,
    session: SessionDep,
) -> SequenceDetail:
    sequence = await editing.remove_variant(
        session, member.workspace_id, sequence_id, step_id, variant_id, by=member
    )
    return await _detail(session, sequence)

"""Edits the engine's steps module does not offer: one A/B variant at a time (added, changed in
place so its id and its messages stay linked, removed) and deleting a draft sequence. Templates
are validated by `steps.validate_variants`, exactly as when a whole step is saved."""

from __future__ import annotations

import string
import uuid

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth.principal import CurrentMember
from leadflood.errors import Conflict, InvalidInput, NotFound
from leadflood.models import Enrollment, Sequence, SequenceState, SequenceStep, StepVariant
from leadflood.sequences import service as sequences
from leadflood.sequences import steps
from leadflood.sequences.errors import StepNotFound
from leadflood.sequences.schemas import VariantIn


class VariantNotFound(NotFound):
    code = "variant_not_found"
    message = "No variant with this id in this step."


class LastVariant(Conflict):
    code = "last_variant"
    message = "A step needs at least one variant; delete the step instead."


class TooManyVariants(InvalidInput):
    code = "too_many_variants"
    message = "A step has at most 26 variants."


class SequenceInUse(Conflict):
    code = "sequence_in_use"
    message = "Only a draft sequence nobody is enrolled in can be deleted; archive it instead."


def _step(sequence: Sequence, step_id: uuid.UUID) -> SequenceStep:
    for step in sequence.steps:
        if step.id == step_id:
            return step
    raise StepNotFound()


def _as_input(variant: StepVariant) -> VariantIn:
    return VariantIn(
        label=variant.label, subject=variant.subject, body=variant.body, weight=variant.weight
    )


async def add_variant(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    sequence_id: uuid.UUID,
    step_id: uuid.UUID,
    data: VariantIn,
    *,
    by: CurrentMember | None = None,
) -> Sequence:
    sequence = await sequences.get_editable(session, workspace_id, sequence_id)
    step = _step(sequence, step_id)
    existing = [_as_input(v) for v in step.variants]
    if data.label is None:
        taken = {v.label for v in step.variants}
        free = next((c for c in string.ascii_uppercase if c not in taken), None)
        if free is None:
            raise TooManyVariants()
        data = data.model_copy(update={"label": free})
    labels = await steps.validate_variants(session, workspace_id, [*existing, data])
    session.add(
        StepVariant(
            workspace_id=workspace_id,
            step_id=step.id,
            label=labels[-1],
            subject=data.subject,
            body=data.body,
            weight=data.weight,
        )
    )
    await session.flush()
    details = {"step_id": str(step.id), "label": labels[-1]}
    await sequences.record(
        session, "sequence.variant_added", workspace_id, sequence_id, by, details
    )
    return await sequences.get(session, workspace_id, sequence_id)


async def edit_variant(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    sequence_id: uuid.UUID,
    step_id: uuid.UUID,
    variant_id: uuid.UUID,
    data: VariantIn,
    *,
    by: CurrentMember | None = None,
) -> Sequence:
    sequence = await sequences.get_editable(session, workspace_id, sequence_id)
    step = _step(sequence, step_id)
    target = next((v for v in step.variants if v.id == variant_id), None)
    if target is None:
        raise VariantNotFound()
    given = data.model_fields_set
    wanted = VariantIn(
        label=data.label if "label" in given else target.label,
        subject=data.subject if "subject" in given else target.subject,
        body=data.body if "body" in given else target.body,
        weight=data.weight if "weight" in given else target.weight,
    )
    others = [_as_input(v) for v in step.variants if v.id != variant_id]
    labels = await steps.validate_variants(session, workspace_id, [*others, wanted])
    target.label, target.subject, target.body, target.weight = (
        labels[-1],
        wanted.subject,
        wanted.body,
        wanted.weight,
    )
    await session.flush()
    details = {"step_id": str(step.id), "variant_id": str(variant_id), "fields": sorted(given)}
    await sequences.record(
        session, "sequence.variant_updated", workspace_id, sequence_id, by, details
    )
    return await sequences.get(session, workspace_id, sequence_id)


async def remove_variant(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    sequence_id: uuid.UUID,
    step_id: uuid.UUID,
    variant_id: uuid.UUID,
    *,
    by: CurrentMember | None = None,
) -> Sequence:
    sequence = await sequences.get_editable(session, workspace_id, sequence_id)
    step = _step(sequence, step_id)
    if not any(v.id == variant_id for v in step.variants):
        raise VariantNotFound()
    if len(step.variants) == 1:
        raise LastVariant()
    remaining = [_as_input(v) for v in step.variants if v.id != variant_id]
    await steps.validate_variants(session, workspace_id, remaining)
    await session.execute(delete(StepVariant).where(StepVariant.id == variant_id))
    await session.flush()
    details = {"step_id": str(step.id), "variant_id": str(variant_id)}
    await sequences.record(
        session, "sequence.variant_removed", workspace_id, sequence_id, by, details
    )
    return await sequences.get(session, workspace_id, sequence_id)


async def delete_sequence(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    sequence_id: uuid.UUID,
    *,
    by: CurrentMember | None = None,
) -> None:
    sequence = await sequences.get(session, workspace_id, sequence_id, for_update=True)
    enrolled = await session.scalar(
        select(func.count()).where(Enrollment.sequence_id == sequence.id)
    )
    if sequence.state != SequenceState.draft or enrolled:
        raise SequenceInUse()
    await session.execute(delete(Sequence).where(Sequence.id == sequence.id))
    await session.flush()
    details = {"name": sequence.name}
    await sequences.record(session, "sequence.deleted", workspace_id, sequence_id, by, details)

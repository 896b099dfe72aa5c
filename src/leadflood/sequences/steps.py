"""Steps and their A/B variants. Positions stay dense (1..n) after every insert, move and
delete; the unique (sequence, position) constraint is deferred so shifting is one statement.
Templates are validated here, when saved, never first at send time."""

from __future__ import annotations

import string
import uuid
from collections.abc import Sequence as Seq

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth.principal import CurrentMember
from leadflood.models import Sequence, SequenceStep, StepVariant
from leadflood.sequences import service as sequences
from leadflood.sequences.errors import InvalidTemplate, StepNotFound
from leadflood.sequences.schemas import StepCreate, StepUpdate, VariantIn
from leadflood.sequences.templating import TemplateError, validate_template


def _labels(variants: Seq[VariantIn]) -> list[str]:
    labels = [v.label or string.ascii_uppercase[i] for i, v in enumerate(variants)]
    if len(set(labels)) != len(labels):
        raise InvalidTemplate(
            TemplateError("duplicate_variant", "Each variant needs its own label.", {}),
            field="label",
            variant=",".join(labels),
        )
    if not any(v.weight > 0 for v in variants):
        raise InvalidTemplate(
            TemplateError("no_variant_weight", "At least one variant needs a weight above 0.", {}),
            field="weight",
            variant=labels[0],
        )
    return labels


async def validate_variants(
    session: AsyncSession, workspace_id: uuid.UUID, variants: Seq[VariantIn]
) -> list[str]:
    labels = _labels(variants)
    custom = await sequences.known_custom_fields(session, workspace_id)
    for label, variant in zip(labels, variants, strict=True):
        for field, source in (("subject", variant.subject), ("body", variant.body)):
            try:
                validate_template(source, custom_fields=custom)
            except TemplateError as exc:
                raise InvalidTemplate(exc, field=field, variant=label) from None
    return labels


async def _replace_variants(
    session: AsyncSession, step: SequenceStep, variants: Seq[VariantIn], labels: list[str]
) -> None:
    await session.execute(delete(StepVariant).where(StepVariant.step_id == step.id))
    for label, variant in zip(labels, variants, strict=True):
        session.add(
            StepVariant(
                workspace_id=step.workspace_id,
                step_id=step.id,
                label=label,
                subject=variant.subject,
                body=variant.body,
                weight=variant.weight,
            )
        )
    await session.flush()


async def _count(session: AsyncSession, sequence_id: uuid.UUID) -> int:
    total = await session.scalar(
        select(func.count()).where(SequenceStep.sequence_id == sequence_id)
    )
    return int(total or 0)


def _find(sequence: Sequence, step_id: uuid.UUID) -> SequenceStep:
    for step in sequence.steps:
        if step.id == step_id:
            return step
    raise StepNotFound()


async def _reload(session: AsyncSession, sequence: Sequence) -> Sequence:
    return await sequences.get(session, sequence.workspace_id, sequence.id)


async def add(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    sequence_id: uuid.UUID,
    data: StepCreate,
    *,
    by: CurrentMember | None = None,
) -> Sequence:
    sequence = await sequences.get_editable(session, workspace_id, sequence_id)
    labels = await validate_variants(session, workspace_id, data.variants)
    count = await _count(session, sequence.id)
    position = min(data.position or count + 1, count + 1)
    await session.execute(
        update(SequenceStep)
        .where(SequenceStep.sequence_id == sequence.id, SequenceStep.position >= position)
        .values(position=SequenceStep.position + 1)
        .execution_options(synchronize_session=False)
    )
    step = SequenceStep(
        workspace_id=workspace_id,
        sequence_id=sequence.id,
        position=position,
        channel=data.channel,
        delay_amount=data.delay_amount,
        delay_unit=data.delay_unit,
    )
    session.add(step)
    await session.flush()
    await _replace_variants(session, step, data.variants, labels)
    details = {"step_id": str(step.id), "position": position, "channel": str(data.channel)}
    await sequences.record(session, "sequence.step_added", workspace_id, sequence.id, by, details)
    return await _reload(session, sequence)


async def edit(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    sequence_id: uuid.UUID,
    step_id: uuid.UUID,
    data: StepUpdate,
    *,
    by: CurrentMember | None = None,
) -> Sequence:
    sequence = await sequences.get_editable(session, workspace_id, sequence_id)
    step = _find(sequence, step_id)
    if data.delay_amount is not None:
        step.delay_amount = data.delay_amount
    if data.delay_unit is not None:
        step.delay_unit = data.delay_unit
    if data.variants is not None:
        labels = await validate_variants(session, workspace_id, data.variants)
        await _replace_variants(session, step, data.variants, labels)
    await session.flush()
    details = {"step_id": str(step.id), "fields": sorted(data.model_fields_set)}
    await sequences.record(session, "sequence.step_updated", workspace_id, sequence.id, by, details)
    return await _reload(session, sequence)


async def move(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    sequence_id: uuid.UUID,
    step_id: uuid.UUID,
    position: int,
    *,
    by: CurrentMember | None = None,
) -> Sequence:
    sequence = await sequences.get_editable(session, workspace_id, sequence_id)
    step = _find(sequence, step_id)
    order = [s.id for s in sequence.steps if s.id != step.id]
    order.insert(min(position, len(order) + 1) - 1, step.id)
    await _renumber(session, order)
    details = {"step_id": str(step.id), "position": order.index(step.id) + 1}
    await sequences.record(session, "sequence.step_moved", workspace_id, sequence.id, by, details)
    return await _reload(session, sequence)


async def remove(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    sequence_id: uuid.UUID,
    step_id: uuid.UUID,
    *,
    by: CurrentMember | None = None,
) -> Sequence:
    sequence = await sequences.get_editable(session, workspace_id, sequence_id)
    step = _find(sequence, step_id)
    details = {"step_id": str(step.id), "position": step.position}
    await session.execute(delete(SequenceStep).where(SequenceStep.id == step.id))
    await _renumber(session, [s.id for s in sequence.steps if s.id != step.id])
    await sequences.record(session, "sequence.step_removed", workspace_id, sequence.id, by, details)
    return await _reload(session, sequence)


async def _renumber(session: AsyncSession, order: list[uuid.UUID]) -> None:
    if order:
        await session.execute(
            update(SequenceStep),
            [{"id": sid, "position": i} for i, sid in enumerate(order, start=1)],
        )
    await session.flush()

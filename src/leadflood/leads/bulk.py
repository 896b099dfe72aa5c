"""Enriching, verifying or deleting many leads: a bulk operation records the selection and its
progress; one planning job walks the selection and defers one job per chunk of ids
(batch-deferred), so 10k leads are a hundred jobs spread over the workers rather than 10k jobs or
one long one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import jobs
from leadflood.db.scope import get_scoped, in_workspace, scoped
from leadflood.errors import NotFound
from leadflood.leads import queries
from leadflood.leads.schemas import BulkRequest, LeadFilter
from leadflood.models import BulkAction, BulkOperation, BulkState, Lead, SearchResult, SearchRun

ORGANIZE_ACTIONS = (BulkAction.tag, BulkAction.untag, BulkAction.list_add, BulkAction.list_remove)
ORGANIZE_TASK = "leads.bulk_organize"
PLAN_TASKS = {
    BulkAction.enrich: "leads.bulk_enrich",
    BulkAction.verify: "leads.bulk_verify",
    BulkAction.delete: "leads.bulk_delete",
    **{action: ORGANIZE_TASK for action in ORGANIZE_ACTIONS},
}
CHUNK_TASK = "leads.bulk_chunk"
DELETE_CHUNK_TASK = "leads.bulk_delete_chunk"
ORGANIZE_CHUNK_TASK = "leads.bulk_organize_chunk"
CHUNK_TASKS = {
    BulkAction.enrich: CHUNK_TASK,
    BulkAction.verify: CHUNK_TASK,
    BulkAction.delete: DELETE_CHUNK_TASK,
    **{action: ORGANIZE_CHUNK_TASK for action in ORGANIZE_ACTIONS},
}
CHUNK_SIZE = 100
# Tagging or listing a lead is one row written, not a provider call: bigger chunks.
CHUNK_SIZES = {action: 1000 for action in ORGANIZE_ACTIONS}
PAGE = 1000


class BulkNotFound(NotFound):
    code = "bulk_operation_not_found"
    message = "No bulk operation with this id in this workspace."


class SearchRunNotFound(NotFound):
    code = "search_run_not_found"
    message = "No search run with this id in this workspace."


async def start(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    action: BulkAction,
    request: BulkRequest,
    *,
    user_id: uuid.UUID | None = None,
    params: dict[str, Any] | None = None,
) -> BulkOperation:
    """Record the operation and defer its planning job in this transaction. `params`: what the
    action needs besides the selection (the tags, the list), kept in `selection["params"]`."""
    if request.search_run_id is not None:
        await get_scoped(
            session, SearchRun, workspace_id, request.search_run_id, error=SearchRunNotFound
        )
    operation = BulkOperation(
        id=uuid.uuid4(),
        workspace_id=workspace_id,
        action=action,
        state=BulkState.queued,
        selection=request.model_dump(mode="json", exclude_none=True)
        | ({"params": params} if params else {}),
        created_by=user_id,
    )
    session.add(operation)
    await session.flush()
    operation.job_id = await jobs.defer(
        session,
        PLAN_TASKS[action],
        workspace_id=workspace_id,
        subject_type="bulk_operation",
        subject_id=operation.id,
        operation_id=str(operation.id),
    )
    return operation


async def count_selected(
    session: AsyncSession, workspace_id: uuid.UUID, request: BulkRequest
) -> int:
    """How many leads a selection holds now (what a confirmation names)."""
    condition: ColumnElement[bool]
    if request.lead_ids is not None:
        condition = in_workspace(Lead, workspace_id) & Lead.id.in_(request.lead_ids)
    elif request.search_run_id is not None:
        runs = queries.leads_of_run(workspace_id, request.search_run_id)
        condition = in_workspace(Lead, workspace_id) & Lead.id.in_(runs)
    else:
        condition = queries.filter_condition(workspace_id, request.filter or LeadFilter())
    total = await session.scalar(select(func.count()).select_from(Lead).where(condition))
    return int(total or 0)


async def get(
    session: AsyncSession, workspace_id: uuid.UUID, operation_id: uuid.UUID
) -> BulkOperation:
    return await get_scoped(session, BulkOperation, workspace_id, operation_id, error=BulkNotFound)


async def get_unscoped(session: AsyncSession, operation_id: uuid.UUID) -> BulkOperation | None:
    """For jobs, which only hold ids this app deferred itself."""
    return await session.get(BulkOperation, operation_id)


async def recent(
    session: AsyncSession, workspace_id: uuid.UUID, *, limit: int = 5
) -> list[BulkOperation]:
    query = (
        scoped(BulkOperation, workspace_id).order_by(BulkOperation.created_at.desc()).limit(limit)
    )
    return list((await session.scalars(query)).all())


async def _selected_ids(
    session: AsyncSession, operation: BulkOperation, after: uuid.UUID | None
) -> list[uuid.UUID]:
    selection = operation.selection
    workspace_id = operation.workspace_id
    if "lead_ids" in selection:
        wanted = sorted({uuid.UUID(x) for x in selection["lead_ids"]})
        wanted = [x for x in wanted if after is None or x > after][:PAGE]
        picked = select(Lead.id).where(in_workspace(Lead, workspace_id), Lead.id.in_(wanted))
        return list((await session.scalars(picked.order_by(Lead.id))).all())
    if "search_run_id" in selection:
        run_id = uuid.UUID(selection["search_run_id"])
        query = queries.leads_of_run(workspace_id, run_id).distinct()
        if after is not None:
            query = query.where(SearchResult.lead_id > after)
        rows = await session.scalars(query.order_by(SearchResult.lead_id).limit(PAGE))
        return [x for x in rows.all() if x is not None]
    where = LeadFilter.model_validate(selection.get("filter") or {})
    return await queries.ids_matching(session, workspace_id, where, after=after, limit=PAGE)


async def plan(session: AsyncSession, operation_id: uuid.UUID) -> int:
    """Defer the chunk jobs of a queued operation (idempotent: a planned one is left alone);
    all in one transaction, so a crash leaves the operation queued with no chunk deferred."""
    operation = await session.get(BulkOperation, operation_id, with_for_update=True)
    if operation is None or operation.state != BulkState.queued:
        return 0
    total, after, chunks = 0, None, 0
    size = CHUNK_SIZES.get(operation.action, CHUNK_SIZE)
    while True:
        ids = await _selected_ids(session, operation, after)
        if not ids:
            break
        total += len(ids)
        after = ids[-1]
        batch = [
            {
                "operation_id": str(operation.id),
                "lead_ids": [str(x) for x in ids[i : i + size]],
            }
            for i in range(0, len(ids), size)
        ]
        await jobs.defer_many(
            session,
            CHUNK_TASKS[operation.action],
            batch,
            workspace_id=operation.workspace_id,
            subject_type="bulk_operation",
            subject_id=operation.id,
        )
        chunks += len(batch)
    operation.total = total
    operation.state = BulkState.running if total else BulkState.completed
    if not total:
        operation.finished_at = datetime.now(UTC)
    await session.flush()
    return chunks


async def progress(
    session: AsyncSession, operation_id: uuid.UUID, *, done: int = 0, failed: int = 0
) -> None:
    """Count leads finished by a chunk; the operation completes when every lead is counted."""
    await session.execute(
        update(BulkOperation)
        .where(BulkOperation.id == operation_id)
        .values(done=BulkOperation.done + done, failed=BulkOperation.failed + failed)
    )
    await session.execute(
        update(BulkOperation)
        .where(
            BulkOperation.id == operation_id,
            BulkOperation.state == BulkState.running,
            BulkOperation.done + BulkOperation.failed >= BulkOperation.total,
        )
        .values(state=BulkState.completed, finished_at=datetime.now(UTC))
    )


async def fail(session: AsyncSession, operation_id: uuid.UUID, error: str) -> None:
    await session.execute(
        update(BulkOperation)
        .where(BulkOperation.id == operation_id, BulkOperation.state == BulkState.queued)
        .values(state=BulkState.failed, error=error, finished_at=datetime.now(UTC))
    )


async def note_error(session: AsyncSession, operation_id: uuid.UUID, error: str) -> None:
    """Keep the latest failure of a running operation so the UI can say what went wrong."""
    await session.execute(
        update(BulkOperation).where(BulkOperation.id == operation_id).values(error=error)
    )

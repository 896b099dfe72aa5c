"""Tagging and listing many leads: the ids picked, or a filter's leads up to BACKGROUND_OVER, in
one statement within the request; a larger filter as a bulk operation (bulk.py), chunk by chunk
on the workers with a progress bar, so a million leads never hold a request or lock a million
rows at once. Either way the person's action is audited once."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import audit
from leadflood.auth.principal import CurrentMember
from leadflood.db.engine import Database
from leadflood.leads import bulk, lists, queries
from leadflood.leads.schemas import BulkRequest, LeadFilter, Selection
from leadflood.models import BulkAction, BulkOperation

# A filter selecting more leads than this runs in the background.
BACKGROUND_OVER = 10_000

AUDITED_AS = {
    BulkAction.tag: "leads.tagged",
    BulkAction.untag: "leads.untagged",
    BulkAction.list_add: "list.leads_added",
    BulkAction.list_remove: "list.leads_removed",
}


@dataclass(frozen=True)
class Organized:
    """`changed` leads (or memberships) at once, or the `operation` doing it in the background."""

    changed: int | None = None
    operation: BulkOperation | None = None


async def apply(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    action: BulkAction,
    selection: Selection,
    *,
    tags: list[str] | None = None,
    list_id: uuid.UUID | None = None,
    by: CurrentMember | None,
    audited: bool = True,
) -> int:
    """Do `action` to the selected leads now; how many changed."""
    if action == BulkAction.tag:
        return await lists.tag(session, workspace_id, selection, tags or [], by=by, audited=audited)
    if action == BulkAction.untag:
        return await lists.untag(
            session, workspace_id, selection, tags or [], by=by, audited=audited
        )
    assert list_id is not None
    if action == BulkAction.list_add:
        return await lists.add_leads(
            session, workspace_id, list_id, selection, by=by, audited=audited
        )
    return await lists.remove_leads(
        session, workspace_id, list_id, selection, by=by, audited=audited
    )


async def organize(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    action: BulkAction,
    selection: Selection,
    *,
    tags: list[str] | None = None,
    list_id: uuid.UUID | None = None,
    by: CurrentMember | None,
) -> Organized:
    """`apply` now, or as a bulk operation when a filter selects more than BACKGROUND_OVER."""
    if list_id is not None:
        await lists.get(session, workspace_id, list_id)
    lists.selected(workspace_id, selection)  # exactly one of ids or filter
    if tags is not None:
        tags = lists.normal_tags(tags)
    if selection.filter is not None:
        request = BulkRequest(filter=selection.filter)
        total = await bulk.count_selected(session, workspace_id, request)
        if total > BACKGROUND_OVER:
            params: dict[str, Any] = {"tags": tags} if tags else {"list_id": str(list_id)}
            operation = await bulk.start(
                session, workspace_id, action, request,
                user_id=by.user.id if by and by.user else None, params=params,
            )  # fmt: skip
            operation.total = total  # what the page shows until the plan counts again
            await _audit(
                session, workspace_id, action, selection.filter, by=by, list_id=list_id,
                details={**params, "queued": total, "operation_id": str(operation.id)},
            )  # fmt: skip
            return Organized(operation=operation)
    changed = await apply(
        session, workspace_id, action, selection, tags=tags, list_id=list_id, by=by
    )
    return Organized(changed=changed)


async def apply_in_pages(
    db: Database,
    workspace_id: uuid.UUID,
    action: BulkAction,
    where: LeadFilter,
    *,
    tags: list[str] | None = None,
    list_id: uuid.UUID | None = None,
    by: CurrentMember | None,
    on_page: Callable[[int, int], None] | None = None,
) -> int:
    """A filter's leads page by page, a transaction each (a stop loses at most a page), for a
    command line that shows its own progress (`on_page(leads in the page, total)`); audited
    once, before the first page. How many changed."""
    if tags is not None:
        tags = lists.normal_tags(tags)
    async with db.session() as session:
        if list_id is not None:
            await lists.get(session, workspace_id, list_id)
        total = await bulk.count_selected(session, workspace_id, BulkRequest(filter=where))
        params: dict[str, Any] = {"tags": tags} if tags else {"list_id": str(list_id)}
        await _audit(
            session, workspace_id, action, where, by=by, list_id=list_id,
            details={**params, "count": total},
        )  # fmt: skip
    changed, after = 0, None
    while True:
        async with db.session() as session:
            ids = await queries.ids_matching(
                session, workspace_id, where, after=after, limit=bulk.PAGE
            )
            if not ids:
                return changed
            changed += await apply(
                session, workspace_id, action, Selection(lead_ids=ids), tags=tags,
                list_id=list_id, by=by, audited=False,
            )  # fmt: skip
        after = ids[-1]
        if on_page is not None:
            on_page(len(ids), total)


async def _audit(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    action: BulkAction,
    where: LeadFilter,
    *,
    by: CurrentMember | None,
    list_id: uuid.UUID | None,
    details: dict[str, Any],
) -> None:
    await audit.record(
        session, AUDITED_AS[action], actor=by, workspace_id=workspace_id,
        target_type="list" if list_id else "lead", target_id=list_id,
        details={**details, "filter": where.model_dump(mode="json", exclude_none=True)},
    )  # fmt: skip


async def apply_chunk(
    session: AsyncSession, operation: BulkOperation, lead_ids: list[uuid.UUID]
) -> int:
    """One chunk of an organizing operation (its job), counted as done."""
    params = operation.selection.get("params") or {}
    list_id = uuid.UUID(params["list_id"]) if params.get("list_id") else None
    changed = await apply(
        session, operation.workspace_id, operation.action, Selection(lead_ids=lead_ids),
        tags=params.get("tags"), list_id=list_id, by=None, audited=False,
    )  # fmt: skip
    await bulk.progress(session, operation.id, done=len(lead_ids))
    return changed

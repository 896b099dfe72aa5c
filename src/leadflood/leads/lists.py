"""Lists of leads (static, named; a lead in many) and tags: added and removed by the leads
picked or by every lead a filter selects, in one set-based statement; audited."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    bindparam,
    cast,
    delete,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import audit
from leadflood.auth.principal import CurrentMember
from leadflood.db.scope import get_scoped, in_workspace, scoped
from leadflood.errors import Conflict, InvalidInput, NotFound
from leadflood.leads import queries
from leadflood.leads.schemas import ListCreate, ListUpdate, Selection, normal_tag
from leadflood.models import Lead, LeadList, LeadListMember


class ListNotFound(NotFound):
    code = "list_not_found"
    message = "No list with this id in this workspace."


class ListExists(Conflict):
    code = "list_exists"
    message = "A list with this name already exists in this workspace."


class InvalidSelection(InvalidInput):
    code = "invalid_selection"
    message = "Give exactly one of lead_ids or filter."


def selected(workspace_id: uuid.UUID, selection: Selection) -> ColumnElement[bool]:
    """The leads of this workspace a selection names (ids, or a filter)."""
    if (selection.lead_ids is None) == (selection.filter is None):
        raise InvalidSelection()
    if selection.lead_ids is not None:
        return in_workspace(Lead, workspace_id) & Lead.id.in_(selection.lead_ids)
    assert selection.filter is not None
    return queries.filter_condition(workspace_id, selection.filter)


def _described(selection: Selection) -> dict[str, Any]:
    if selection.lead_ids is not None:
        return {"lead_ids": len(selection.lead_ids)}
    assert selection.filter is not None
    return {"filter": selection.filter.model_dump(mode="json", exclude_none=True)}


async def get(session: AsyncSession, workspace_id: uuid.UUID, list_id: uuid.UUID) -> LeadList:
    return await get_scoped(session, LeadList, workspace_id, list_id, error=ListNotFound)


async def find(session: AsyncSession, workspace_id: uuid.UUID, ref: str) -> LeadList:
    """A list by its id or its name (case-insensitive), for the CLI."""
    try:
        return await get(session, workspace_id, uuid.UUID(ref))
    except ValueError:
        pass
    found = await session.scalar(
        scoped(LeadList, workspace_id).where(func.lower(LeadList.name) == ref.strip().lower())
    )
    if found is None:
        raise ListNotFound(f"No list {ref!r} in this workspace.")
    return found


async def all_with_counts(
    session: AsyncSession, workspace_id: uuid.UUID
) -> list[tuple[LeadList, int]]:
    members = (
        select(func.count())
        .where(LeadListMember.list_id == LeadList.id)
        .correlate(LeadList)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(LeadList, members)
        .where(in_workspace(LeadList, workspace_id))
        .order_by(func.lower(LeadList.name))
        .limit(1000)
    )
    return [(row[0], int(row[1])) for row in rows]


async def count_members(session: AsyncSession, list_id: uuid.UUID) -> int:
    query = select(func.count()).where(LeadListMember.list_id == list_id)
    return int(await session.scalar(query) or 0)


async def names_of(
    session: AsyncSession, workspace_id: uuid.UUID, lead_id: uuid.UUID
) -> list[LeadList]:
    """The lists a lead is in."""
    query = (
        scoped(LeadList, workspace_id)
        .join(LeadListMember, LeadListMember.list_id == LeadList.id)
        .where(LeadListMember.lead_id == lead_id)
        .order_by(func.lower(LeadList.name))
    )
    return list((await session.scalars(query)).all())


async def _flush_named(session: AsyncSession) -> None:
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise ListExists(details={"field": "name"}) from None


async def create(
    session: AsyncSession, workspace_id: uuid.UUID, data: ListCreate, *, by: CurrentMember | None
) -> LeadList:
    found = LeadList(
        id=uuid.uuid4(),
        workspace_id=workspace_id,
        name=data.name.strip(),
        description=data.description.strip(),
        created_by=by.user.id if by and by.user else None,
    )
    session.add(found)
    await _flush_named(session)
    await session.refresh(found)
    await audit.record(
        session, "list.created", actor=by, workspace_id=workspace_id, target_type="list",
        target_id=found.id, details={"name": found.name},
    )  # fmt: skip
    return found


async def change(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    list_id: uuid.UUID,
    data: ListUpdate,
    *,
    by: CurrentMember | None,
) -> LeadList:
    found = await get(session, workspace_id, list_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    for name, value in changes.items():
        setattr(found, name, value.strip())
    await _flush_named(session)
    await session.refresh(found)
    await audit.record(
        session, "list.updated", actor=by, workspace_id=workspace_id, target_type="list",
        target_id=found.id, details={"changes": sorted(changes)},
    )  # fmt: skip
    return found


async def remove_list(
    session: AsyncSession, workspace_id: uuid.UUID, list_id: uuid.UUID, *, by: CurrentMember | None
) -> None:
    """Delete the list; its leads stay."""
    found = await get(session, workspace_id, list_id)
    await session.delete(found)
    await session.flush()
    await audit.record(
        session, "list.deleted", actor=by, workspace_id=workspace_id, target_type="list",
        target_id=list_id, details={"name": found.name},
    )  # fmt: skip


async def add_leads(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    list_id: uuid.UUID,
    selection: Selection,
    *,
    by: CurrentMember | None,
    audited: bool = True,
) -> int:
    """Add the selected leads (those already in the list are left); how many joined. A chunk
    of a bulk operation (organize.py) is not `audited`: the operation was."""
    await get(session, workspace_id, list_id)
    source = select(literal(list_id), Lead.id, literal(workspace_id)).where(
        selected(workspace_id, selection)
    )
    result = await session.execute(
        insert(LeadListMember)
        .from_select(["list_id", "lead_id", "workspace_id"], source)
        .on_conflict_do_nothing()
        .returning(LeadListMember.lead_id)
    )
    added = len(result.all())
    if audited:
        await audit.record(
            session, "list.leads_added", actor=by, workspace_id=workspace_id, target_type="list",
            target_id=list_id, details={"added": added, **_described(selection)},
        )  # fmt: skip
    return added


async def add_ids(
    session: AsyncSession, workspace_id: uuid.UUID, list_id: uuid.UUID, lead_ids: list[uuid.UUID]
) -> int:
    """Add leads a job of this app already holds (an import's): not audited again."""
    if not lead_ids:
        return 0
    source = select(literal(list_id), Lead.id, literal(workspace_id)).where(
        in_workspace(Lead, workspace_id), Lead.id.in_(lead_ids)
    )
    result = await session.execute(
        insert(LeadListMember)
        .from_select(["list_id", "lead_id", "workspace_id"], source)
        .on_conflict_do_nothing()
        .returning(LeadListMember.lead_id)
    )
    return len(result.all())


async def remove_leads(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    list_id: uuid.UUID,
    selection: Selection,
    *,
    by: CurrentMember | None,
    audited: bool = True,
) -> int:
    """Take the selected leads out of the list (the leads stay); how many left it."""
    await get(session, workspace_id, list_id)
    leaving = select(Lead.id).where(selected(workspace_id, selection))
    result = await session.execute(
        delete(LeadListMember)
        .where(LeadListMember.list_id == list_id, LeadListMember.lead_id.in_(leaving))
        .returning(LeadListMember.lead_id)
    )
    removed = len(result.all())
    if audited:
        await audit.record(
            session, "list.leads_removed", actor=by, workspace_id=workspace_id,
            target_type="list", target_id=list_id,
            details={"removed": removed, **_described(selection)},
        )  # fmt: skip
    return removed


class InvalidTag(InvalidInput):
    code = "invalid_tag"
    message = "A tag is 1 to 64 characters."


def normal_tags(tags: list[str]) -> list[str]:
    try:
        found = sorted({normal_tag(tag) for tag in tags})
    except ValueError:
        raise InvalidTag(details={"field": "tags"}) from None
    if not found or any(len(tag) > 64 for tag in found):
        raise InvalidTag(details={"field": "tags"})
    return found


def _tag_array(tags: list[str]) -> Any:
    return cast(tags, ARRAY(String(64)))


async def tag(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    selection: Selection,
    tags: list[str],
    *,
    by: CurrentMember | None,
    audited: bool = True,
) -> int:
    """Add tags to the selected leads; how many leads gained one."""
    tags = normal_tags(tags)
    wanted = _tag_array(tags)
    merged = text(
        "ARRAY(SELECT DISTINCT t FROM unnest(leads.tags || CAST(:new_tags AS varchar(64)[])) AS t"
        " ORDER BY t)"
    ).bindparams(bindparam("new_tags", sorted(set(tags)), type_=ARRAY(String(64))))
    return await _retag(
        session, workspace_id, selection, tags, "leads.tagged",
        where=~Lead.tags.contains(wanted), value=merged, by=by, audited=audited,
    )  # fmt: skip


async def untag(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    selection: Selection,
    tags: list[str],
    *,
    by: CurrentMember | None,
    audited: bool = True,
) -> int:
    """Remove tags from the selected leads; how many leads lost one."""
    tags = normal_tags(tags)
    gone = _tag_array(tags)
    value: Any = Lead.tags
    for name in sorted(set(tags)):
        value = func.array_remove(value, cast(name, String(64)))
    return await _retag(
        session, workspace_id, selection, tags, "leads.untagged",
        where=Lead.tags.overlap(gone), value=value, by=by, audited=audited,
    )  # fmt: skip


async def _retag(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    selection: Selection,
    tags: list[str],
    event: str,
    *,
    where: Any,
    value: Any,
    by: CurrentMember | None,
    audited: bool,
) -> int:
    """Set the selected leads' tags to `value` where `where` holds; audited as `event` with
    the count of leads changed."""
    result = await session.execute(
        update(Lead)
        .where(selected(workspace_id, selection), where)
        .values(tags=value)
        .returning(Lead.id)
        .execution_options(synchronize_session=False)
    )
    changed = len(result.all())
    if audited:
        await audit.record(
            session, event, actor=by, workspace_id=workspace_id, target_type="lead",
            details={"tags": sorted(set(tags)), "changed": changed, **_described(selection)},
        )  # fmt: skip
    return changed


async def all_tags(
    session: AsyncSession, workspace_id: uuid.UUID, *, limit: int = 200
) -> list[str]:
    """The tags in use in this workspace, for the filter's choices."""
    inner = (
        select(func.unnest(Lead.tags).label("tag"))
        .where(in_workspace(Lead, workspace_id), Lead.tags != cast([], ARRAY(String(64))))
        .subquery()
    )
    rows = await session.scalars(select(inner.c.tag).distinct().order_by(inner.c.tag).limit(limit))
    return list(rows.all())

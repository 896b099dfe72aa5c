from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import jobs
from leadflood.db.scope import get_scoped, in_workspace, scoped
from leadflood.errors import Conflict, NotFound
from leadflood.icps.schemas import IcpCreate, IcpUpdate
from leadflood.models import Icp, Lead, SearchRun
from leadflood.pagination import Window, newest_first, page_of

# Runs in `leads` (scoring reads leads); deferred here by name.
RESCORE_TASK = "leads.rescore_icp"
# Rescores the leads without an ICP of their own against the workspace's ICPs (best fit).
RESCORE_BEST_FIT_TASK = "leads.rescore_best_fit"


class IcpNotFound(NotFound):
    code = "icp_not_found"
    message = "No ICP with this id in this workspace."


class IcpNameTaken(Conflict):
    code = "icp_name_taken"
    message = "Another ICP of this workspace has this name."


async def _check_name(
    session: AsyncSession, workspace_id: uuid.UUID, name: str, *, other_than: uuid.UUID | None
) -> None:
    query = scoped(Icp, workspace_id).where(func.lower(Icp.name) == name.lower())
    if other_than is not None:
        query = query.where(Icp.id != other_than)
    taken = await session.scalar(query.with_only_columns(Icp.id))
    if taken is not None:
        raise IcpNameTaken(details={"icp_id": str(taken), "field": "name"})


async def create(session: AsyncSession, workspace_id: uuid.UUID, data: IcpCreate) -> Icp:
    await _check_name(session, workspace_id, data.name, other_than=None)
    icp = Icp(
        workspace_id=workspace_id,
        name=data.name,
        description=data.description or None,
        criteria=data.criteria.model_dump(mode="json"),
        weights=data.weights.model_dump(mode="json"),
        source=data.source,
    )
    session.add(icp)
    await session.flush()
    # Leads without an ICP of their own may fit this one best.
    await jobs.defer(
        session, RESCORE_TASK, workspace_id=workspace_id, subject_type="icp", subject_id=icp.id,
        icp_id=str(icp.id),
    )  # fmt: skip
    await session.refresh(icp)
    return icp


async def get(session: AsyncSession, workspace_id: uuid.UUID, icp_id: uuid.UUID) -> Icp:
    return await get_scoped(session, Icp, workspace_id, icp_id, error=IcpNotFound)


async def list_page(
    session: AsyncSession, workspace_id: uuid.UUID, *, limit: int, cursor: str | None = None
) -> Window[Icp]:
    query = newest_first(
        scoped(Icp, workspace_id), Icp.created_at, Icp.id, cursor=cursor, limit=limit
    )
    return page_of(list((await session.scalars(query)).all()), limit, cursor)


async def update_icp(
    session: AsyncSession, workspace_id: uuid.UUID, icp_id: uuid.UUID, data: IcpUpdate
) -> tuple[Icp, int | None]:
    """Apply the fields sent; when criteria or weights change, defer the rescoring of the
    ICP's leads (returns its job id)."""
    icp = await get_scoped(session, Icp, workspace_id, icp_id, error=IcpNotFound, for_update=True)
    changes: dict[str, Any] = data.model_dump(mode="json", exclude_unset=True)
    if changes.get("name") is not None and changes["name"] != icp.name:
        await _check_name(session, workspace_id, changes["name"], other_than=icp.id)
    rescore = False
    for name, value in changes.items():
        if value is None and name != "description":
            continue
        if name in ("criteria", "weights") and value != getattr(icp, name):
            rescore = True
        setattr(icp, name, value)
    await session.flush()
    job_id = None
    if rescore:
        job_id = await jobs.defer(
            session,
            RESCORE_TASK,
            workspace_id=workspace_id,
            subject_type="icp",
            subject_id=icp.id,
            icp_id=str(icp.id),
        )
    await session.refresh(icp)
    return icp, job_id


async def delete(session: AsyncSession, workspace_id: uuid.UUID, icp_id: uuid.UUID) -> None:
    """Delete the ICP and its runs; its leads stay, unscored (a score needs an ICP)."""
    icp = await get_scoped(session, Icp, workspace_id, icp_id, error=IcpNotFound, for_update=True)
    await session.execute(
        update(Lead)
        .where(in_workspace(Lead, workspace_id), Lead.icp_id == icp.id)
        .values(icp_id=None, score=None, score_breakdown=[], scored_at=None)
    )
    await session.delete(icp)
    await session.flush()
    await jobs.defer(
        session, RESCORE_BEST_FIT_TASK, workspace_id=workspace_id, subject_type="workspace",
        subject_id=workspace_id, workspace=str(workspace_id),
    )  # fmt: skip


async def lead_counts(
    session: AsyncSession, workspace_id: uuid.UUID, icp_ids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    rows = await session.execute(
        select(Lead.icp_id, func.count())
        .where(in_workspace(Lead, workspace_id), Lead.icp_id.in_(icp_ids))
        .group_by(Lead.icp_id)
    )
    return {icp_id: count for icp_id, count in rows if icp_id is not None}


async def top_leads(
    session: AsyncSession, workspace_id: uuid.UUID, icp_id: uuid.UUID, *, limit: int = 10
) -> list[Lead]:
    query = (
        scoped(Lead, workspace_id)
        .where(Lead.icp_id == icp_id)
        .order_by(Lead.score.desc().nulls_last(), Lead.id)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def latest_runs(
    session: AsyncSession, workspace_id: uuid.UUID, icp_ids: list[uuid.UUID]
) -> dict[uuid.UUID, SearchRun]:
    query = (
        scoped(SearchRun, workspace_id)
        .where(SearchRun.icp_id.in_(icp_ids))
        .ext(distinct_on(SearchRun.icp_id))
        .order_by(SearchRun.icp_id, SearchRun.created_at.desc())
    )
    return {run.icp_id: run for run in (await session.scalars(query)).all()}

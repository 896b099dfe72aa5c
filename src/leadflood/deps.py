"""Typed request dependencies, defined once and used by every route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.models import Workspace
from leadflood.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """One session per request, committed once when the handler returns (before the response
    is sent, so a failed commit is an error response), rolled back on any error."""
    async with runtime.db.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

DEFAULT_WORKSPACE = "default"


async def current_workspace(session: SessionDep) -> Workspace:
    workspace = await session.scalar(select(Workspace).where(Workspace.slug == DEFAULT_WORKSPACE))
    if workspace is None:
        workspace = Workspace(name="Default", slug=DEFAULT_WORKSPACE)
        session.add(workspace)
        await session.flush()
    return workspace


WorkspaceDep = Annotated[Workspace, Depends(current_workspace)]

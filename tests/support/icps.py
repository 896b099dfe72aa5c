"""ICP factories for tests: plain async functions with keyword defaults."""

from __future__ import annotations

import uuid
from typing import Any

from leadflood.icps import service as icps
from leadflood.icps.schemas import IcpCreate
from leadflood.models import Icp, SearchRun
from leadflood.runtime import Runtime
from leadflood.searches import service as searches
from leadflood.searches.schemas import SearchRequest

# About 3,000 people of the sandbox universe.
SALES_TEAMS = {"departments": ["sales"], "countries": ["US", "GB", "DE"]}


async def make_icp(
    runtime: Runtime,
    workspace_id: uuid.UUID,
    *,
    name: str = "Sales leaders",
    criteria: dict[str, Any] | None = None,
    **fields: Any,
) -> Icp:
    data = IcpCreate.model_validate({"name": name, "criteria": criteria or SALES_TEAMS, **fields})
    async with runtime.db.session() as session:
        return await icps.create(session, workspace_id, data)


async def start_run(
    runtime: Runtime, workspace_id: uuid.UUID, icp_id: uuid.UUID, **request: Any
) -> tuple[SearchRun, bool]:
    async with runtime.db.session() as session:
        return await searches.start(
            session,
            runtime.providers,
            workspace_id,
            icp_id,
            SearchRequest.model_validate(request),
        )


async def reload_run(runtime: Runtime, run_id: uuid.UUID) -> SearchRun:
    async with runtime.db.session() as session:
        run = await session.get(SearchRun, run_id)
        assert run is not None
        return run

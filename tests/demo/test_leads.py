"""The demo workspace starts with leads: its ICP's sandbox search runs once, on its first
start, and finds scored people of the synthetic universe."""

from __future__ import annotations

from sqlalchemy import func, select

from leadflood.demo import account as demo
from leadflood.demo.leads import ensure_demo_leads
from leadflood.models import Lead, SearchRun, SearchRunState
from tests.support.jobs import drain


async def test_the_demo_workspace_starts_with_scored_sandbox_leads(runtime) -> None:
    async with runtime.db.session() as session:
        workspace_id = (await demo.seed(session)).workspace.id
        assert await ensure_demo_leads(session, runtime.providers, workspace_id)
    async with runtime.db.session() as session:
        assert not await ensure_demo_leads(session, runtime.providers, workspace_id)
    await drain(runtime)
    async with runtime.db.session() as session:
        (state,) = (
            await session.scalars(
                select(SearchRun.state).where(SearchRun.workspace_id == workspace_id)
            )
        ).all()
        count, scored = (
            await session.execute(
                select(func.count(), func.count(Lead.score)).where(
                    Lead.workspace_id == workspace_id
                )
            )
        ).one()
    assert state == SearchRunState.completed
    assert count > 50 and scored == count

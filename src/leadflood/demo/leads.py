"""The demo workspace's first leads: an ideal customer profile of sales leaders and a search of
the sandbox universe for it, started when the workspace is new, so a first visit shows leads
(found, scored against the profile and ready to enroll) instead of an empty page."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.icps import service as icps
from leadflood.icps.schemas import IcpCreate
from leadflood.models import Icp
from leadflood.providers.registry import ProviderRegistry
from leadflood.searches import service as searches
from leadflood.searches.schemas import SearchRequest

DEMO_ICP = "Sales leaders (demo)"
DEMO_CRITERIA = {
    "departments": ["sales"],
    "seniorities": ["vp", "director", "head"],
    "countries": ["US", "GB", "DE"],
}
DEMO_LEADS = 150


async def ensure_demo_leads(
    session: AsyncSession, providers: ProviderRegistry, workspace_id: uuid.UUID
) -> bool:
    """Create the demo ICP and queue its sandbox search, once; True when started now."""
    existing = await session.scalar(
        select(Icp.id).where(Icp.workspace_id == workspace_id, Icp.name == DEMO_ICP)
    )
    if existing is not None:
        return False
    icp = await icps.create(
        session,
        workspace_id,
        IcpCreate.model_validate({"name": DEMO_ICP, "criteria": DEMO_CRITERIA}),
    )
    await searches.start(
        session, providers, workspace_id, icp.id,
        SearchRequest(source="sandbox", max_results=DEMO_LEADS),
    )  # fmt: skip
    return True

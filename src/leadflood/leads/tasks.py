from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import jobs
from leadflood.leads import service as leads
from leadflood.providers.base import TemporaryProviderError


async def _lead_failed(session: AsyncSession, error: Exception, *, lead_id: str) -> None:
    await leads.mark_failed(session, uuid.UUID(lead_id), str(error))


@jobs.task(
    leads.ENRICH_TASK,
    retry=jobs.backoff(attempts=3, base=2, retry_on=(TemporaryProviderError, OSError)),
    on_final_failure=_lead_failed,
)
async def enrich(session: AsyncSession, runtime: Any, *, lead_id: str) -> None:
    await leads.enrich(session, uuid.UUID(lead_id), runtime.providers.enricher())

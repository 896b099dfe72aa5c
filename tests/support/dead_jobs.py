"""Jobs that really fail in a real worker, until their cause is "fixed": to list, read and
replay dead jobs."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import jobs
from leadflood.runtime import Runtime
from tests.support.jobs import drain

TASK = "tests.fragile"
ERROR = "the provider refused the request: API key revoked"
# The cause of the failures; tests flip it to "fix" it before replaying.
cause: dict[str, bool] = {"broken": True}


class ProviderRefused(RuntimeError):
    pass


@jobs.task(TASK)
async def fragile(session: AsyncSession, runtime: Runtime, *, lead_id: str) -> None:
    if cause["broken"]:
        raise ProviderRefused(ERROR)


async def make_dead_jobs(
    runtime: Runtime,
    workspace_id: uuid.UUID | None,
    count: int = 1,
    **options: Any,
) -> list[int]:
    """`count` jobs of TASK, linked to a lead id of `workspace_id` (None: the instance's own),
    run by a real worker until they fail."""
    cause["broken"] = True
    ids: list[int] = []
    async with runtime.db.session() as session:
        for _ in range(count):
            lead_id = uuid.uuid4()
            link: dict[str, Any] = (
                {"workspace_id": workspace_id, "subject_type": "lead", "subject_id": lead_id}
                if workspace_id is not None
                else {}
            )
            ids.append(await jobs.defer(session, TASK, lead_id=str(lead_id), **link, **options))
    await drain(runtime)
    return ids

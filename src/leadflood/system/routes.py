from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from leadflood.system import jobs_service
from leadflood.system import service as system
from leadflood.system.schemas import Health, JobRead, Ready
from leadflood.web.deps import RuntimeDep, SessionDep, WorkspaceDep

router = APIRouter(tags=["system"])


@router.get("/health", response_model=Health)
async def health() -> Health:
    return Health()


@router.get("/ready", response_model=Ready, responses={503: {"model": Ready}})
async def ready(runtime: RuntimeDep) -> JSONResponse:
    """503 while the database is unreachable, or while no worker has sent a heartbeat for
    WORKER_STALE_SECONDS (nothing runs jobs or sends); 200 otherwise, with status "degraded"
    when no worker has ever run on this database."""
    state = await system.readiness(runtime.db, stale_after=runtime.settings.worker_stale_after)
    return JSONResponse(state.as_json(), status_code=200 if state.serving else 503)


@router.get("/v1/jobs/{job_id}", response_model=JobRead)
async def get_job(
    job_id: Annotated[int, Path(ge=1, le=2**63 - 1)], session: SessionDep, workspace: WorkspaceDep
) -> JobRead:
    return await jobs_service.get(session, workspace.id, job_id)


def routers() -> list[APIRouter]:
    """This feature's API routers, in the order they are matched."""
    return [router]

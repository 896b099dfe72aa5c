from __future__ import annotations

from datetime import timedelta
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
    stale = timedelta(seconds=max(90.0, runtime.settings.worker_heartbeat_seconds * 3))
    state = await system.readiness(runtime.db, stale_after=stale)
    return JSONResponse(state.as_json(), status_code=200 if state.db_ok else 503)


@router.get("/v1/jobs/{job_id}", response_model=JobRead)
async def get_job(
    job_id: Annotated[int, Path(ge=1, le=2**63 - 1)], session: SessionDep, workspace: WorkspaceDep
) -> JobRead:
    return await jobs_service.get(session, workspace.id, job_id)

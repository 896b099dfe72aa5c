from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from leadflood.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from leadflood.system import jobs_service
from leadflood.system import metrics as domain_metrics
from leadflood.system import service as system
from leadflood.system.schemas import (
    Health,
    JobDetail,
    JobRead,
    Ready,
    ReplayRequest,
    ReplayResult,
)
from leadflood.web.deps import AdminDep, RuntimeDep, SessionDep, ViewerDep
from leadflood.web.idempotency import Idempotent

router = APIRouter(tags=["system"])


@router.get("/health", response_model=Health)
async def health() -> Health:
    return Health()


@router.get("/ready", response_model=Ready, responses={503: {"model": Ready}})
async def ready(runtime: RuntimeDep) -> JSONResponse:
    """503 while the database is unreachable, or while no worker has sent a heartbeat for
    WORKER_STALE_SECONDS, including before the first worker ran (nothing runs jobs or sends:
    status "degraded"); 200 otherwise."""
    state = await system.readiness(runtime.db, stale_after=runtime.settings.worker_stale_after)
    return JSONResponse(state.as_json(), status_code=200 if state.ready else 503)


@router.get("/metrics", include_in_schema=False)
@router.get("/metrics/", include_in_schema=False)
async def metrics(request: Request, runtime: RuntimeDep) -> Response:
    """Prometheus: this process's HTTP figures, and the queue, jobs, sends, syncs and breakers
    read from the database (the same on every replica). A database that cannot be read leaves
    those out and says so in `leadflood_metrics_database_up`. With METRICS_TOKEN set, only
    `Authorization: Bearer <token>` is answered."""
    token = runtime.settings.metrics_token
    if token is not None:
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, f"Bearer {token}".encode()):
            return Response(
                "metrics need the token\n",
                status_code=401,
                media_type="text/plain",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    body = generate_latest(REGISTRY)
    up = 1
    try:
        async with runtime.db.sessions() as session:
            families = await domain_metrics.collect(
                session, stale_after=runtime.settings.worker_stale_after
            )
        body += domain_metrics.render(families)
    except (OSError, SQLAlchemyError):
        up = 0
    body += (
        b"# HELP leadflood_metrics_database_up Whether /metrics could read the database\n"
        b"# TYPE leadflood_metrics_database_up gauge\n"
        b"leadflood_metrics_database_up " + str(up).encode() + b"\n"
    )
    return Response(body, media_type=CONTENT_TYPE_LATEST)


JobId = Annotated[int, Path(ge=1, le=2**63 - 1)]
jobs_router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@jobs_router.get("", response_model=Page[JobRead])
async def list_jobs(
    member: ViewerDep,
    session: SessionDep,
    status: jobs_service.Status | None = None,
    task: Annotated[str | None, Query(max_length=128)] = None,
    since: Annotated[
        datetime | None, Query(description="Jobs deferred at or after this time (with zone).")
    ] = None,
    scope: Annotated[
        jobs_service.Scope,
        Query(
            description="`workspace`: this workspace's jobs; `instance`: the queue's own jobs "
            "(no workspace; owners only); `all`: both (owners only)."
        ),
    ] = "workspace",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[JobRead]:
    """Background jobs, newest first. `status=failed` lists the dead ones: their retries are
    exhausted; read `error`, fix the cause, then replay them."""
    filters = jobs_service.Filters(status=status, task=task, since=since, scope=scope)
    page = await jobs_service.list_page(session, member, filters, limit=limit, cursor=cursor)
    return Page[JobRead].of(page, lambda job: job)


@jobs_router.get("/{job_id}", response_model=JobDetail)
async def get_job(job_id: JobId, session: SessionDep, member: ViewerDep) -> JobDetail:
    """A job's state, runs, last error and the queue's events."""
    return await jobs_service.get(session, member, job_id)


@jobs_router.post("/replay", response_model=ReplayResult, dependencies=[Idempotent])
async def replay_jobs(data: ReplayRequest, member: AdminDep, session: SessionDep) -> ReplayResult:
    """Replay every failed job of a task (up to 1,000 at a time; `remaining` says to call
    again). A job whose queueing lock is taken by a waiting job is skipped, with the reason."""
    return await jobs_service.replay_failed(session, member, data.task)


@jobs_router.post("/{job_id}/replay", response_model=JobDetail, dependencies=[Idempotent])
async def replay_job(job_id: JobId, member: AdminDep, session: SessionDep) -> JobDetail:
    """Run a failed job again: the same job (id, arguments, row) goes back in the queue for one
    more attempt. 409 `job_not_failed` for any other state."""
    return await jobs_service.replay(session, member, job_id)


def routers() -> list[APIRouter]:
    """This feature's API routers, in the order they are matched."""
    return [router, jobs_router]

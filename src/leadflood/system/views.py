"""Settings → Jobs: background jobs with their state and error; dead ones replayed one by one
or all of a task."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from leadflood.auth.principal import CurrentMember
from leadflood.errors import AppError
from leadflood.models import Role
from leadflood.pagination import DEFAULT_PAGE_SIZE
from leadflood.system import jobs_service
from leadflood.web.deps import AdminDep, SessionDep, ViewerDep
from leadflood.web.render import render

router = APIRouter(prefix="/settings/jobs", include_in_schema=False)
STATUSES = ("failed", "queued", "running", "completed", "cancelled")
SCOPES = {"workspace": "This workspace", "instance": "Instance (no workspace)", "all": "Both"}


def _filters(request: Request, member: CurrentMember) -> tuple[jobs_service.Filters, str]:
    params = request.query_params
    status = params.get("status") if params.get("status") in STATUSES else None
    scope = params.get("scope") if params.get("scope") in SCOPES else "workspace"
    if not member.role.at_least(Role.owner):
        scope = "workspace"
    task = (params.get("task") or "").strip()[:128] or None
    query = {
        key: value for key, value in (("status", status), ("task", task), ("scope", scope))
        if value and not (key == "scope" and value == "workspace")
    }  # fmt: skip
    filters = jobs_service.Filters(status=status, task=task, scope=scope)  # type: ignore[arg-type]
    return filters, urlencode(query)


async def _page(
    request: Request,
    member: CurrentMember,
    session: Any,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    filters, query = _filters(request, member)
    cursor = request.query_params.get("cursor") or None
    page = await jobs_service.list_page(
        session, member, filters, limit=DEFAULT_PAGE_SIZE, cursor=cursor
    )
    counts = await jobs_service.counts(session, member, filters.scope)
    context = {
        "active": "settings",
        "tab": "jobs",
        "jobs": page.items,
        "page": page,
        "cursor": cursor,
        "counts": counts,
        "total": sum(counts.values()),
        "statuses": STATUSES,
        "scopes": SCOPES,
        "filters": filters,
        "query": query,
        "dead_tasks": await jobs_service.failed_tasks(session, member, filters.scope),
        "can_replay": member.role.at_least(Role.admin),
        "is_owner": member.role.at_least(Role.owner),
        "notice": notice,
        "error": error,
        "now": datetime.now(UTC),
    }
    return render(request, "settings/jobs.html", context, status=status)


@router.get("")
async def jobs_page(request: Request, member: ViewerDep, session: SessionDep) -> Response:
    notice = None
    if replayed := request.query_params.get("replayed"):
        notice = f"Job {replayed} is queued again."
    elif (task := request.query_params.get("replayed_task")) is not None:
        count = request.query_params.get("count", "0")
        notice = f"{count} failed job(s) of {task} are queued again."
    return await _page(request, member, session, notice=notice)


@router.post("/replay")
async def replay_task(request: Request, member: AdminDep, session: SessionDep) -> Response:
    form = await request.form()
    task = str(form.get("task") or "").strip()
    if not task:
        return await _page(request, member, session, error="Choose a task.", status=422)
    result = await jobs_service.replay_failed(session, member, task)
    target = {"replayed_task": task, "count": str(len(result.replayed)), "status": "failed"}
    return RedirectResponse(f"/settings/jobs?{urlencode(target)}", status_code=303)


@router.post("/{job_id}/replay")
async def replay_job(
    job_id: int, request: Request, member: AdminDep, session: SessionDep
) -> Response:
    try:
        await jobs_service.replay(session, member, job_id)
    except AppError as exc:
        if exc.status == 404:
            raise
        return await _page(request, member, session, error=exc.message, status=exc.status)
    return RedirectResponse(f"/settings/jobs?replayed={job_id}", status_code=303)


def routers() -> list[APIRouter]:
    return [router]

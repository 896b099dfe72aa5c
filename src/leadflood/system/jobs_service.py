"""Background jobs as an operator sees them: the queue's own rows (`procrastinate_jobs` and
their events) joined to `job_executions`, which links a job to its workspace and row and keeps
its last error.

A job deferred for a workspace's row (enrichment, imports, searches...) belongs to that
workspace. The queue's own periodic and internal jobs (`system.*`, the sending dispatcher and
deliveries, the sequences' tick) belong to no workspace: they are the instance's, shown to
owners only (`scope=instance`), since their arguments and errors may concern any workspace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import jobs
from leadflood.auth import audit
from leadflood.auth.principal import CurrentMember
from leadflood.db.scope import scoped
from leadflood.errors import Conflict, Forbidden, InvalidInput, NotFound
from leadflood.models import JobExecution, JobState, Role
from leadflood.pagination import Window, decode_parts, encode_parts
from leadflood.system.schemas import JobDetail, JobEvent, JobRead, ReplayResult, ReplaySkipped

Status = Literal["queued", "running", "completed", "failed", "cancelled"]
Scope = Literal["workspace", "instance", "all"]

# The queue's states under each of ours.
QUEUE_STATES: dict[str, tuple[str, ...]] = {
    "queued": ("todo",),
    "running": ("doing", "aborting"),
    "completed": ("succeeded",),
    "failed": ("failed",),
    "cancelled": ("cancelled", "aborted"),
}
STATUS_OF = {queue: status for status, states in QUEUE_STATES.items() for queue in states}
# A bulk replay stops here; run it again for the rest (each run is one transaction).
REPLAY_BATCH = 1000


class JobNotFound(NotFound):
    code = "job_not_found"
    message = "No job with this id in this workspace."


class JobNotFailed(Conflict):
    code = "job_not_failed"
    message = "Only a failed job can be replayed."


class JobAlreadyQueued(Conflict):
    code = "job_already_queued"
    message = (
        "A job of this task with the same queueing lock is already waiting; it will do the same "
        "work. Replay this one after that job has run, if it is still needed."
    )


class InstanceJobsForOwners(Forbidden):
    code = "instance_jobs_owner_only"
    message = (
        "The instance's own jobs (no workspace) are shown to owners only; "
        "ask an owner, or list this workspace's jobs (scope=workspace)."
    )


class InvalidJobFilter(InvalidInput):
    code = "invalid_job_filter"


@dataclass(frozen=True)
class Filters:
    status: Status | None = None
    task: str | None = None
    since: datetime | None = None
    scope: Scope = "workspace"


_SELECT = """
SELECT j.id, j.task_name, j.status::text AS queue_status, ev.runs,
       j.queue_name, j.args, j.scheduled_at, j.lock, j.queueing_lock,
       e.workspace_id, e.subject_type, e.subject_id, e.error, e.created_at AS linked_at,
       ev.deferred_at, ev.started_at, ev.finished_at
FROM procrastinate_jobs AS j
LEFT JOIN job_executions AS e ON e.job_id = j.id
LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE type = 'started') AS runs,
           min(at) FILTER (WHERE type = 'deferred') AS deferred_at,
           max(at) FILTER (WHERE type = 'started') AS started_at,
           max(at) FILTER (WHERE type IN ('succeeded', 'failed', 'cancelled', 'aborted'))
               AS finished_at
    FROM procrastinate_events WHERE job_id = j.id
) AS ev ON true
"""


def _scope_condition(member: CurrentMember, scope: Scope, params: dict[str, Any]) -> str:
    if scope != "workspace" and not member.role.at_least(Role.owner):
        raise InstanceJobsForOwners()
    params["workspace_id"] = member.workspace_id
    if scope == "workspace":
        return "e.workspace_id = :workspace_id"
    if scope == "instance":
        return "e.job_id IS NULL"
    return "(e.workspace_id = :workspace_id OR e.job_id IS NULL)"


def _where(member: CurrentMember, filters: Filters, params: dict[str, Any]) -> list[str]:
    conditions = [_scope_condition(member, filters.scope, params)]
    if filters.status is not None:
        conditions.append("j.status::text = ANY(:queue_states)")
        params["queue_states"] = list(QUEUE_STATES[filters.status])
    if filters.task:
        conditions.append("j.task_name = :task")
        params["task"] = filters.task
    if filters.since is not None:
        if filters.since.tzinfo is None:
            raise InvalidJobFilter("`since` needs a time zone, e.g. 2026-05-01T00:00:00Z.")
        conditions.append("ev.deferred_at >= :since")
        params["since"] = filters.since
    return conditions


def _read(row: Any) -> JobRead:
    status = STATUS_OF.get(row.queue_status, "failed")
    # Runs are counted from the queue's events: its `attempts` also counts a manual retry.
    return JobRead(
        id=row.id,
        task=row.task_name,
        status=status,
        attempts=row.runs,
        error=row.error,
        scope="workspace" if row.workspace_id is not None else "instance",
        subject_type=row.subject_type,
        subject_id=str(row.subject_id) if row.subject_id is not None else None,
        queue=row.queue_name,
        args=row.args or {},
        created_at=row.deferred_at or row.linked_at,
        scheduled_at=row.scheduled_at,
        started_at=row.started_at,
        finished_at=row.finished_at if status in ("completed", "failed", "cancelled") else None,
    )


async def list_page(
    session: AsyncSession,
    member: CurrentMember,
    filters: Filters,
    *,
    limit: int,
    cursor: str | None = None,
) -> Window[JobRead]:
    """Newest first (by job id, which only grows), `limit` a page, keyset cursors."""
    params: dict[str, Any] = {"limit": limit + 1}
    conditions = _where(member, filters, params)
    before = False
    if cursor:
        parts, before = decode_parts(cursor)
        if len(parts) != 1 or not isinstance(parts[0], int):
            raise InvalidJobFilter("The cursor is not valid; start again from the first page.")
        params["at_id"] = parts[0]
        conditions.append("j.id > :at_id" if before else "j.id < :at_id")
    order = "j.id ASC" if before else "j.id DESC"
    query = f"{_SELECT} WHERE {' AND '.join(conditions)} ORDER BY {order} LIMIT :limit"
    rows = [_read(row) for row in await session.execute(text(query), params)]
    more = len(rows) > limit
    rows = rows[:limit]
    if before:
        rows.reverse()
        return Window(
            rows,
            next_cursor=encode_parts([rows[-1].id]) if rows else None,
            prev_cursor=encode_parts([rows[0].id], before=True) if more else None,
        )
    return Window(
        rows,
        next_cursor=encode_parts([rows[-1].id]) if more else None,
        prev_cursor=encode_parts([rows[0].id], before=True) if cursor and rows else None,
    )


async def counts(session: AsyncSession, member: CurrentMember, scope: Scope) -> dict[str, int]:
    """How many jobs of each status the caller sees in `scope`."""
    params: dict[str, Any] = {}
    condition = _scope_condition(member, scope, params)
    rows = await session.execute(
        text(
            "SELECT j.status::text, count(*) FROM procrastinate_jobs AS j "
            "LEFT JOIN job_executions AS e ON e.job_id = j.id "
            f"WHERE {condition} GROUP BY 1"
        ),
        params,
    )
    found: dict[str, int] = {}
    for queue_status, count in rows:
        status = STATUS_OF.get(queue_status, "failed")
        found[status] = found.get(status, 0) + int(count)
    return found


async def _visible(session: AsyncSession, member: CurrentMember, job_id: int) -> JobRead:
    """The job, if the caller may see it: a job of their workspace, or the instance's for an
    owner. Anything else is "not found", whatever exists."""
    params: dict[str, Any] = {"job_id": job_id}
    scope: Scope = "all" if member.role.at_least(Role.owner) else "workspace"
    condition = _scope_condition(member, scope, params)
    row = (
        await session.execute(text(f"{_SELECT} WHERE j.id = :job_id AND {condition}"), params)
    ).first()
    if row is not None:
        return _read(row)
    # Succeeded jobs leave the queue after JOB_RETENTION_DAYS; their record stays.
    execution = await session.scalar(
        scoped(JobExecution, member.workspace_id).where(JobExecution.job_id == job_id)
    )
    if execution is None:
        raise JobNotFound()
    state = JobState.queued if execution.state == JobState.retrying else execution.state
    return JobRead(
        id=job_id,
        task=execution.task_name,
        status=state.value,
        attempts=execution.attempts,
        error=execution.error,
        scope="workspace",
        subject_type=execution.subject_type,
        subject_id=str(execution.subject_id),
        queue="",
        args={},
        created_at=execution.created_at,
        scheduled_at=None,
        started_at=execution.started_at,
        finished_at=execution.finished_at,
    )


async def get(session: AsyncSession, member: CurrentMember, job_id: int) -> JobDetail:
    job = await _visible(session, member, job_id)
    events = await session.execute(
        text(
            "SELECT type::text, at FROM procrastinate_events WHERE job_id = :job_id ORDER BY at, id"
        ),
        {"job_id": job_id},
    )
    return JobDetail(**job.model_dump(), events=[JobEvent(type=kind, at=at) for kind, at in events])


async def replay(session: AsyncSession, member: CurrentMember, job_id: int) -> JobDetail:
    """Run a failed job again: Procrastinate's retry puts the same job (same id, arguments,
    locks and row) back in the queue for one more attempt. Audited."""
    job = await _visible(session, member, job_id)
    if job.status != "failed":
        raise JobNotFailed(f"Only a failed job can be replayed; job {job_id} is {job.status}.")
    try:
        await jobs.retry_failed(session, job_id)
    except jobs.QueueingLockTaken:
        raise JobAlreadyQueued() from None
    except jobs.NoLongerFailed:
        raise JobNotFailed(
            f"Job {job_id} was replayed meanwhile; it is no longer failed."
        ) from None
    await audit.record(
        session,
        "job.replayed",
        actor=member,
        target_type="job",
        target_id=job_id,
        details={"task": job.task, "scope": job.scope},
    )
    return await get(session, member, job_id)


async def failed_of_task(
    session: AsyncSession, member: CurrentMember, task: str, *, limit: int = REPLAY_BATCH
) -> list[JobRead]:
    """The failed jobs of `task` the caller sees (their workspace's; the instance's too for an
    owner), oldest first."""
    params: dict[str, Any] = {"task": task, "limit": limit}
    scope: Scope = "all" if member.role.at_least(Role.owner) else "workspace"
    condition = _scope_condition(member, scope, params)
    rows = await session.execute(
        text(
            f"{_SELECT} WHERE {condition} AND j.task_name = :task AND j.status = 'failed' "
            "ORDER BY j.id LIMIT :limit"
        ),
        params,
    )
    return [_read(row) for row in rows]


async def failed_tasks(
    session: AsyncSession, member: CurrentMember, scope: Scope
) -> list[tuple[str, int]]:
    """The tasks with failed jobs the caller sees in `scope`, with how many, most first."""
    params: dict[str, Any] = {}
    condition = _scope_condition(member, scope, params)
    rows = await session.execute(
        text(
            "SELECT j.task_name, count(*) FROM procrastinate_jobs AS j "
            "LEFT JOIN job_executions AS e ON e.job_id = j.id "
            f"WHERE {condition} AND j.status = 'failed' GROUP BY 1 ORDER BY 2 DESC, 1"
        ),
        params,
    )
    return [(task, int(count)) for task, count in rows]


async def count_failed(session: AsyncSession, member: CurrentMember, task: str) -> int:
    params: dict[str, Any] = {"task": task}
    scope: Scope = "all" if member.role.at_least(Role.owner) else "workspace"
    condition = _scope_condition(member, scope, params)
    found = await session.scalar(
        text(
            "SELECT count(*) FROM procrastinate_jobs AS j "
            "LEFT JOIN job_executions AS e ON e.job_id = j.id "
            f"WHERE {condition} AND j.task_name = :task AND j.status = 'failed'"
        ),
        params,
    )
    return int(found or 0)


async def replay_failed(session: AsyncSession, member: CurrentMember, task: str) -> ReplayResult:
    """Replay every failed job of `task` the caller sees (at most REPLAY_BATCH at a time), each
    as `replay` would; one audit event for the batch."""
    replayed: list[int] = []
    skipped: list[ReplaySkipped] = []
    found = await failed_of_task(session, member, task)
    for job in found:
        try:
            await jobs.retry_failed(session, job.id)
        except jobs.NotRetryable as exc:
            skipped.append(ReplaySkipped(id=job.id, reason=str(exc)))
            continue
        replayed.append(job.id)
    if replayed:
        await audit.record(
            session,
            "jobs.replayed",
            actor=member,
            target_type="task",
            target_id=task,
            details={"task": task, "count": len(replayed), "job_ids": replayed[:100]},
        )
    return ReplayResult(
        task=task,
        replayed=replayed,
        skipped=skipped,
        remaining=len(found) == REPLAY_BATCH,
    )

"""Enrollment pages: who is in a sequence (states, stop reasons; pause/resume/stop one or many)
and the "Enroll leads" form (a filter, a selection or a search run) with its skip counts.

A filter can match the whole workspace, so enrolling by filter asks once with the number of
matching leads: the page's script asks before posting (with the count from `enroll/count`), and
the server asks again, on a page of its own, when a post lacks `confirmed=<that count>`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.db.scope import in_workspace, scoped
from leadflood.errors import AppError, InvalidInput
from leadflood.leads import lists as lead_lists
from leadflood.leads import queries as lead_queries
from leadflood.leads.schemas import LeadFilter
from leadflood.models import EnrollmentState, Icp, Lead, SearchRun
from leadflood.pagination import DEFAULT_PAGE_SIZE, InvalidCursor
from leadflood.sequences import enrollment, queries
from leadflood.sequences import service as sequences
from leadflood.sequences.api_schemas import EnrollBody, EnrollmentRow
from leadflood.sequences.schemas import EnrollRequest
from leadflood.sequences.waiting import local_label
from leadflood.web.deps import MemberDep, SessionDep, ViewerDep
from leadflood.web.render import render

router = APIRouter(include_in_schema=False)
TABS = ("active", "paused", "completed", "stopped")
# The enroll form's filter: the leads list's own fields (`LeadFilter`), the list among them.
FILTER_FIELDS = ("q", "status", "min_score", "list_id")
REASON_LABELS = {
    "not_found": "not found in this workspace",
    "already_enrolled": "already in this sequence",
    "suppressed": "on the suppression list",
    "invalid": "no valid email",
    "active_elsewhere": "active in another sequence",
    "below_min_score": "below the sequence's minimum score",
    "unverified_email": "email not verified",
}


@router.get("/sequences/{sequence_id}/enrollments", response_class=HTMLResponse)
async def enrollment_list(
    sequence_id: uuid.UUID, request: Request, session: SessionDep, member: ViewerDep
) -> Response:
    params = request.query_params
    state = params.get("state") if params.get("state") in TABS else None
    cursor = params.get("cursor") or None
    sequence = await sequences.get(session, member.workspace_id, sequence_id)
    try:
        page = await enrollment.list_page(
            session, member.workspace_id, sequence_id, limit=DEFAULT_PAGE_SIZE, cursor=cursor,
            state=EnrollmentState(state) if state else None,
        )  # fmt: skip
    except InvalidCursor:
        cursor = None
        page = await enrollment.list_page(
            session, member.workspace_id, sequence_id, limit=DEFAULT_PAGE_SIZE,
            state=EnrollmentState(state) if state else None,
        )  # fmt: skip
    report = await queries.report(session, member.workspace_id, sequence_id)
    now = datetime.now(UTC)
    found = await queries.enrollment_rows(session, member.workspace_id, page.items, now=now)
    return render(
        request,
        "sequences/enrollments.html",
        {
            "active": "sequences",
            "sequence": sequence,
            "rows": found,
            "local": {row.id: _local_times(row, now) for row in found},
            "report": report,
            "tabs": TABS,
            "state_filter": state,
            "cursor": cursor,
            "page": page,
            "changed": params.get("changed"),
            "action_done": params.get("done"),
            "action_sources": enrollment.ACTION_SOURCES,
        },
    )


def _local_times(row: EnrollmentRow, now: datetime) -> dict[str, str]:
    """The row's sent and enrolled times on the wall clock of its lead (or sequence) zone."""
    zone = ZoneInfo(row.time_zone or "UTC")
    times = {"created": row.created_at, "last_sent": row.last_sent_at}
    return {key: f"{local_label(at, zone, now)} {zone.key}" for key, at in times.items() if at}


def _back(sequence_id: uuid.UUID, action: str, changed: int, state: str | None) -> str:
    query = {"changed": str(changed), "done": action} | ({"state": state} if state else {})
    return f"/sequences/{sequence_id}/enrollments?{urlencode(query)}"


@router.post("/sequences/{sequence_id}/enrollments/bulk")
async def bulk_action(
    sequence_id: uuid.UUID, request: Request, session: SessionDep, member: MemberDep
) -> Response:
    raw = await request.form()
    action = str(raw.get("action") or "")
    ids: list[uuid.UUID] = []
    for value in raw.getlist("enrollment_ids"):
        try:
            ids.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    await sequences.get(session, member.workspace_id, sequence_id)
    changed = 0
    if action in ("pause", "resume", "stop") and ids:
        changed = await enrollment.act(
            session, member.workspace_id, action, ids, now=datetime.now(UTC)
        )
    state = str(raw.get("state") or "") or None
    if not ids:
        action = "none"
    return RedirectResponse(_back(sequence_id, action, changed, state), status_code=303)


async def _search_runs(session: AsyncSession, workspace_id: uuid.UUID) -> list[tuple[Any, str]]:
    rows = await session.execute(
        select(SearchRun, Icp.name)
        .join(Icp, Icp.id == SearchRun.icp_id)
        .where(in_workspace(SearchRun, workspace_id))
        .order_by(SearchRun.created_at.desc())
        .limit(30)
    )
    return [(row[0], row[1]) for row in rows]


async def _enroll_page(
    request: Request,
    session: AsyncSession,
    workspace_id: uuid.UUID,
    sequence_id: uuid.UUID,
    *,
    form: dict[str, str],
    result: Any = None,
    error: str | None = None,
    status: int = 200,
    matching: int | None = None,
    confirm: int | None = None,
) -> HTMLResponse:
    sequence = await sequences.get(session, workspace_id, sequence_id)
    if matching is None:
        matching = await _matching_form(session, workspace_id, form)
    return render(
        request,
        "sequences/enroll.html",
        {
            "active": "sequences",
            "sequence": sequence,
            "runs": await _search_runs(session, workspace_id),
            "lists": [x for x, _ in await lead_lists.all_with_counts(session, workspace_id)],
            "form": form,
            "result": result,
            "error": error,
            "reason_labels": REASON_LABELS,
            "matching": matching,
            "matching_text": None if matching is None else _matching_text(matching),
            "confirm": confirm,
            "confirm_question": None if confirm is None else _question(confirm),
            "filter_summary": _filter_summary(form),
        },
        status=status,
    )


async def _matching(session: AsyncSession, workspace_id: uuid.UUID, f: LeadFilter) -> int:
    count = await session.scalar(
        select(func.count()).select_from(Lead).where(lead_queries.filter_condition(workspace_id, f))
    )
    return int(count or 0)


async def _matching_form(
    session: AsyncSession, workspace_id: uuid.UUID, form: dict[str, str]
) -> int | None:
    """How many leads the form's filter matches; None when the filter is not valid."""
    try:
        body, _ = await _request_of(session, workspace_id, form | {"source": "filter"})
    except (ValidationError, AppError):
        return None
    return None if body.filter is None else await _matching(session, workspace_id, body.filter)


def _question(count: int) -> str:
    if count == 1:
        return "Enroll the 1 lead matching this filter?"
    return f"Enroll all {count:,} leads matching this filter?"


def _matching_text(count: int) -> str:
    if count == 0:
        return "No lead matches this filter."
    if count == 1:
        return "1 lead matches this filter."
    return f"{count:,} leads match this filter."


def _filter_summary(form: dict[str, str]) -> str:
    parts = []
    if (form.get("q") or "").strip():
        parts.append(f"search “{form['q'].strip()}”")
    if form.get("status"):
        parts.append(f"status {form['status']}")
    if (form.get("min_score") or "").strip():
        parts.append(f"score at least {form['min_score'].strip()}")
    if form.get("list_id"):
        parts.append("in the list chosen")
    if not parts:
        return "No filter: every lead of this workspace."
    return "Filter: " + ", ".join(parts) + "."


@router.get("/sequences/{sequence_id}/enroll/count")
async def enroll_count(
    sequence_id: uuid.UUID, request: Request, session: SessionDep, member: MemberDep
) -> JSONResponse:
    """For the page's script: how many leads the filter matches, and the question to ask."""
    await sequences.get(session, member.workspace_id, sequence_id)
    params = request.query_params
    form = {k: params.get(k) or "" for k in FILTER_FIELDS}
    count = await _matching_form(session, member.workspace_id, form)
    if count is None:
        return JSONResponse({"count": None, "question": None, "text": None}, status_code=422)
    return JSONResponse(
        {"count": count, "question": _question(count), "text": _matching_text(count)}
    )


@router.get("/sequences/{sequence_id}/enroll", response_class=HTMLResponse)
async def enroll_form(
    sequence_id: uuid.UUID, request: Request, session: SessionDep, member: MemberDep
) -> Response:
    params = request.query_params
    form = {"source": params.get("source") or "filter", "q": params.get("q") or ""}
    if params.get("list_id"):
        form["list_id"] = params["list_id"]
    if params.get("lead_ids"):
        form |= {"source": "selection", "lead_ids": params["lead_ids"]}
    return await _enroll_page(request, session, member.workspace_id, sequence_id, form=form)


class UnreadableSelection(InvalidInput):
    code = "invalid_selection"


async def _selection(
    session: AsyncSession, workspace_id: uuid.UUID, raw: str
) -> tuple[list[uuid.UUID], int]:
    """Lead ids and emails (one per line or comma-separated) as lead ids, and how many emails
    match no lead of the workspace."""
    parts = [p.strip() for p in raw.replace(",", "\n").replace(";", "\n").splitlines()]
    ids: list[uuid.UUID] = []
    emails: set[str] = set()
    for part in filter(None, parts):
        if "@" in part:
            emails.add(part.lower())
            continue
        try:
            ids.append(uuid.UUID(part))
        except ValueError:
            raise UnreadableSelection(
                f"{part[:80]!r} is neither a lead id nor an email address: paste one per line."
            ) from None
    if not ids and not emails:
        raise UnreadableSelection("Paste at least one lead id or email address.")
    found: dict[str, uuid.UUID] = {}
    if emails:
        rows = await session.execute(
            scoped(Lead, workspace_id)
            .with_only_columns(func.lower(Lead.email), Lead.id)
            .where(func.lower(Lead.email).in_(sorted(emails)))
        )
        found = {email: lead_id for email, lead_id in rows}
    return ids + [i for i in found.values() if i not in ids], len(emails - found.keys())


async def _request_of(
    session: AsyncSession, workspace_id: uuid.UUID, form: dict[str, str]
) -> tuple[EnrollBody, int]:
    source = form.get("source")
    if source == "selection":
        ids, unknown = await _selection(session, workspace_id, form.get("lead_ids", ""))
        if not ids:
            raise UnreadableSelection("No lead of this workspace has these email addresses.")
        return EnrollBody.model_validate({"lead_ids": ids}), unknown
    if source == "search_run":
        if not form.get("search_run_id"):
            raise UnreadableSelection("Choose a search run.")
        return EnrollBody.model_validate({"search_run_id": form.get("search_run_id")}), 0
    chosen = {k: form.get(k, "").strip() for k in FILTER_FIELDS}
    return EnrollBody.model_validate({"filter": {k: v for k, v in chosen.items() if v}}), 0


@router.post("/sequences/{sequence_id}/enroll", response_class=HTMLResponse)
async def enroll(
    sequence_id: uuid.UUID, request: Request, session: SessionDep, member: MemberDep
) -> Response:
    raw = await request.form()
    form = {
        k: str(raw.get(k) or "")
        for k in ("source", *FILTER_FIELDS, "lead_ids", "search_run_id", "confirmed")
    }
    try:
        body, unknown = await _request_of(session, member.workspace_id, form)
        if body.filter is not None:
            matching = await _matching(session, member.workspace_id, body.filter)
            # The count confirmed must still be the count: leads imported since then ask again.
            if matching and form["confirmed"].strip() != str(matching):
                return await _enroll_page(
                    request, session, member.workspace_id, sequence_id,
                    form=form, matching=matching, confirm=matching,
                )  # fmt: skip
        result = await enrollment.enroll(
            session, member.workspace_id, sequence_id, body.as_request(), now=datetime.now(UTC)
        )
        if unknown:
            result.skipped["not_found"] = result.skipped.get("not_found", 0) + unknown
    except ValidationError as exc:
        messages = {str(e["msg"]).removeprefix("Value error, ") for e in exc.errors()}
        error = "Check the " + form.get("source", "filter").replace("_", " ") + ": "
        return await _enroll_page(
            request, session, member.workspace_id, sequence_id,
            form=form, error=error + "; ".join(sorted(messages)), status=422,
        )  # fmt: skip
    except AppError as exc:
        if exc.status == 404 and exc.code == "sequence_not_found":
            raise
        return await _enroll_page(
            request, session, member.workspace_id, sequence_id,
            form=form, error=exc.message, status=exc.status,
        )  # fmt: skip
    return await _enroll_page(
        request, session, member.workspace_id, sequence_id, form=form, result=result
    )


@router.post("/leads/bulk-enroll", response_class=HTMLResponse)
async def bulk_enroll(request: Request, session: SessionDep, member: MemberDep) -> Response:
    """The leads list's "Add to sequence" (and a list's "Enroll in sequence"): the ticked leads
    or every lead matching the filter, asked once with the server's count before enrolling."""
    from leadflood.leads import bulk as lead_bulk
    from leadflood.leads import views as lead_views
    from leadflood.leads.schemas import BulkRequest

    raw = await request.form()
    values = {k: str(v) for k, v in raw.items() if isinstance(v, str)}
    scope = values.get("apply_to") or values.get("scope") or "selected"
    where, applied = lead_views.filter_from(values)
    ids = lead_views.picked_ids(raw.getlist("lead_ids"))
    workspace = member.workspace
    try:
        sequence_id = uuid.UUID(values.get("sequence_id", ""))
    except ValueError:
        return await lead_views.list_page_response(
            request, session, workspace, bulk_error="Choose a sequence.", status=422
        )
    try:
        sequence = await sequences.get(session, workspace.id, sequence_id)
        if scope == "filter":
            body = EnrollRequest(filter=where)
            count = await _matching(session, workspace.id, where)
        else:
            if not ids:
                raise InvalidInput("Tick at least one lead, or choose all matching leads.")
            body = EnrollRequest(lead_ids=ids)
            count = await lead_bulk.count_selected(session, workspace.id, BulkRequest(lead_ids=ids))
        if values.get("confirmed") != str(count):
            scope_text = " matching this filter" if scope == "filter" else ""
            ask = lead_views.confirmation(
                "/leads/bulk-enroll",
                f"Enroll {count:,} lead{'' if count == 1 else 's'}{scope_text} "
                f"in “{sequence.name}”?",
                f"Enroll {count:,} lead{'' if count == 1 else 's'}", scope, applied, ids,
                {"sequence_id": str(sequence_id), "confirmed": str(count)},
            )  # fmt: skip
            return await lead_views.list_page_response(request, session, workspace, confirm=ask)
        result = await enrollment.enroll(
            session, workspace.id, sequence_id, body, now=datetime.now(UTC)
        )
    except AppError as exc:
        return await lead_views.list_page_response(
            request, session, workspace, bulk_error=exc.message, status=exc.status
        )
    skipped = ", ".join(
        f"{n:,} {REASON_LABELS.get(reason, reason)}" for reason, n in result.skipped.items() if n
    )
    notice = f"Enrolled {result.enrolled:,} in {sequence.name}." + (
        f" Skipped: {skipped}." if skipped else ""
    )
    return RedirectResponse("/leads?" + urlencode({**applied, "notice": notice}), status_code=303)

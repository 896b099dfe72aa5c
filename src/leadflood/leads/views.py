from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from leadflood.db.scope import scoped
from leadflood.leads import bulk, export, forgotten, queries
from leadflood.leads import service as leads
from leadflood.leads.schemas import LeadCreate, LeadFilter, LeadSort
from leadflood.models import BulkState, Icp, LeadStatus, VerificationStatus
from leadflood.pagination import DEFAULT_PAGE_SIZE, InvalidCursor
from leadflood.web import forms
from leadflood.web.deps import MemberDep, RuntimeDep, SessionDep, WorkspaceDep
from leadflood.web.render import render

router = APIRouter(include_in_schema=False)

FORM_FIELDS = ("email", "first_name", "last_name", "company_name", "phone")
ACTIVE_BULK = (BulkState.queued, BulkState.running)


FILTER_PARAMS = ("status", "verification", "score_min", "score_max", "icp_id", "company_domain")
SORTS: dict[LeadSort, str] = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "score": "Best score",
    "score_asc": "Lowest score",
}


def filter_from(params: Mapping[str, str]) -> tuple[LeadFilter, dict[str, str]]:
    """The list's filter from query or form values; what does not parse is ignored (a bad
    link shows all leads rather than an error page)."""
    raw = {k: params.get(k, "").strip() for k in (*FILTER_PARAMS, "q") if params.get(k)}
    try:
        return LeadFilter.model_validate(raw), raw
    except ValidationError as exc:
        bad = {str(err["loc"][0]) for err in exc.errors()}
        kept = {k: v for k, v in raw.items() if k not in bad}
        return LeadFilter.model_validate(kept), kept


async def list_page_response(
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    bulk_error: str | None = None,
    confirm_delete: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The leads list; `confirm_delete` ({count, scope, lead_ids, filters}) asks once before a
    bulk deletion, with the number of leads the selection holds now."""
    params = request.query_params
    where, applied = filter_from(params)
    if confirm_delete is not None:
        where, applied = filter_from(confirm_delete["filters"])
    sort: LeadSort = "newest"
    for key in SORTS:
        if params.get("sort") == key:
            sort = key
    cursor = params.get("cursor") or None
    try:
        page = await queries.list_page(
            session, workspace.id, where, sort=sort, limit=DEFAULT_PAGE_SIZE, cursor=cursor
        )
    except InvalidCursor:
        cursor = None
        page = await queries.list_page(
            session, workspace.id, where, sort=sort, limit=DEFAULT_PAGE_SIZE
        )
    counts = await queries.status_counts(session, workspace.id)
    icps = (
        await session.execute(
            scoped(Icp, workspace.id)
            .with_only_columns(Icp.id, Icp.name)
            .order_by(Icp.name)
            .limit(200)
        )
    ).all()
    keep = {**applied, **({"sort": sort} if sort != "newest" else {})}
    operations = [op for op in await bulk.recent(session, workspace.id) if op.state in ACTIVE_BULK]
    shown = params.get("bulk")
    if shown and not any(str(op.id) == shown for op in operations):
        operations += [op for op in await bulk.recent(session, workspace.id) if str(op.id) == shown]
    return render(
        request,
        "leads/index.html",
        {
            "active": "leads",
            "leads": page.items,
            "page": page,
            "cursor": cursor,
            "counts": counts["counts"],
            "capped": counts["capped"],
            "counts_exact": counts["exact"],
            "total": counts["total"],
            "status_filter": applied.get("status"),
            "filters": applied,
            "filtered": bool(applied),
            "query": urlencode(keep),
            "sort": sort,
            "sorts": SORTS,
            "statuses": [s.value for s in LeadStatus],
            "verifications": [v.value for v in VerificationStatus],
            "q": params.get("q"),
            "form": form or {},
            "errors": errors or {},
            "created": params.get("created"),
            "operations": operations,
            "icps": [(str(icp_id), name) for icp_id, name in icps],
            "bulk_error": bulk_error,
            "cap": queries.COUNT_CAP,
            "matching": await queries.count_matching(session, workspace.id, where)
            if page.items
            else 0,
            "confirm_delete": confirm_delete,
            "done": params.get("done"),
        },
        status=status,
    )


@router.get("/", response_class=RedirectResponse)
async def home() -> RedirectResponse:
    return RedirectResponse("/leads", status_code=303)


@router.get("/leads", response_class=HTMLResponse)
async def leads_page(request: Request, session: SessionDep, workspace: WorkspaceDep) -> Response:
    return await list_page_response(request, session, workspace)


@router.post("/leads", response_class=HTMLResponse)
async def create_lead(request: Request, session: SessionDep, member: MemberDep) -> Response:
    workspace = member.workspace
    raw = await request.form()
    form = {name: str(raw.get(name) or "").strip() for name in FORM_FIELDS}
    try:
        data = LeadCreate.model_validate({k: v for k, v in form.items() if v})
        lead, _ = await leads.create(session, workspace.id, data)
    except ValidationError as exc:
        errors = forms.field_errors(exc, key=lambda loc: str(loc[0]))
        return await list_page_response(
            request, session, workspace, form=form, errors=errors, status=422
        )
    except (leads.LeadExists, forgotten.PersonErased) as exc:
        return await list_page_response(
            request, session, workspace, form=form, errors=forms.field_errors(exc) if
            isinstance(exc, forgotten.PersonErased) else {"email": exc.message}, status=409,
        )  # fmt: skip
    return RedirectResponse(f"/leads?created={lead.id}", status_code=303)


@router.get("/leads/export")
async def export_csv(
    request: Request, session: SessionDep, runtime: RuntimeDep, member: MemberDep
) -> Response:
    """The list's "Export CSV": the leads ticked (`lead_ids`), else every lead matching the
    filters, as a streamed download (the API's export)."""
    params = request.query_params
    where, _ = filter_from(params)
    picked: list[uuid.UUID] = []
    for value in params.getlist("lead_ids")[: export.MAX_PICKED]:
        try:
            picked.append(uuid.UUID(value))
        except ValueError:
            continue
    selection = export.Selection(where=where, lead_ids=picked)
    return await export.download(session, runtime.db, member, selection)


@router.get("/leads/statuses")
async def lead_statuses(
    session: SessionDep, workspace: WorkspaceDep, ids: Annotated[str, Query(max_length=4000)]
) -> JSONResponse:
    wanted: list[uuid.UUID] = []
    for part in ids.split(",")[:200]:
        try:
            wanted.append(uuid.UUID(part))
        except ValueError:
            continue
    found = await leads.statuses(session, workspace.id, wanted)
    return JSONResponse(
        {
            str(lead_id): {
                "status": lead.status.value,
                "error": lead.error,
                "company_name": lead.company_name,
                "title": lead.title,
                "location": ", ".join(p for p in (lead.city, lead.country) if p) or None,
                "verification_status": lead.verification_status.value,
                "score": lead.score,
            }
            for lead_id, lead in found.items()
        }
    )


def routers() -> list[APIRouter]:
    """This feature's pages (the list, then a lead's page), in the order they are matched."""
    from leadflood.leads import lead_views

    return [router, lead_views.router]

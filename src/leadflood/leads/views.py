from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from leadflood.db.scope import scoped
from leadflood.errors import AppError, InvalidInput
from leadflood.leads import bulk, export, forgotten, lists, queries
from leadflood.leads import organize as organizing
from leadflood.leads import service as leads
from leadflood.leads.schemas import (
    BulkRequest,
    LeadCreate,
    LeadFilter,
    LeadSort,
    ListCreate,
    Selection,
)
from leadflood.models import (
    BulkAction,
    BulkState,
    Icp,
    LeadList,
    LeadStatus,
    Sequence,
    SequenceState,
    VerificationStatus,
)
from leadflood.pagination import DEFAULT_PAGE_SIZE, InvalidCursor
from leadflood.web import forms
from leadflood.web.deps import MemberDep, RuntimeDep, SessionDep, WorkspaceDep
from leadflood.web.render import render

router = APIRouter(include_in_schema=False)

FORM_FIELDS = ("email", "first_name", "last_name", "company_name", "phone")
ACTIVE_BULK = (BulkState.queued, BulkState.running)


FILTER_PARAMS = (
    "status", "verification", "score_min", "score_max", "icp_id", "company_domain", "list_id",
    "tag", "owner_id", "has_notes",
)  # fmt: skip
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
    confirm: dict[str, Any] | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    """The leads list; `confirm_delete` ({count, scope, lead_ids, filters}) asks once before a
    bulk deletion, with the number of leads the selection holds now."""
    params = request.query_params
    where, applied = filter_from(params)
    if confirm_delete is not None:
        where, applied = filter_from(confirm_delete["filters"])
    if confirm is not None:
        where, applied = filter_from(confirm["filters"])
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
    all_lists = [(str(x.id), x.name) for x, _ in await lists.all_with_counts(session, workspace.id)]
    current_list = None
    if where.list_id is not None:
        current_list = await session.get(LeadList, where.list_id)
        if current_list is not None and current_list.workspace_id != workspace.id:
            current_list = None
    sequences = (
        await session.execute(
            scoped(Sequence, workspace.id)
            .with_only_columns(Sequence.id, Sequence.name)
            .where(
                Sequence.state.in_(
                    [SequenceState.active, SequenceState.draft, SequenceState.paused]
                )
            )
            .order_by(Sequence.name)
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
            "confirm": confirm,
            "lists": all_lists,
            "current_list": current_list,
            "tags": await lists.all_tags(session, workspace.id),
            "sequences": [(str(seq_id), name) for seq_id, name in sequences],
            "notice": notice or params.get("notice"),
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


def picked_ids(values: list[Any]) -> list[uuid.UUID]:
    found: list[uuid.UUID] = []
    for value in values:
        try:
            found.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return found


def confirmation(
    action: str, question: str, button: str, scope: str, applied: dict[str, str],
    lead_ids: list[uuid.UUID], fields: dict[str, str],
) -> dict[str, Any]:  # fmt: skip
    """The bar that asks once before a bulk action, re-posting what was chosen."""
    return {
        "action": action, "question": question, "button": button, "scope": scope,
        "filters": applied, "lead_ids": [str(x) for x in lead_ids], "fields": fields,
    }  # fmt: skip


ORGANIZE = {"list": "Add", "unlist": "Remove", "tag": "Tag", "untag": "Untag"}
ORGANIZE_AS = {
    "list": BulkAction.list_add,
    "unlist": BulkAction.list_remove,
    "tag": BulkAction.tag,
    "untag": BulkAction.untag,
}


@router.post("/leads/organize", response_class=HTMLResponse)
async def organize(request: Request, session: SessionDep, member: MemberDep) -> Response:
    """The bulk bar's "Add to list", "Remove from list", "Add tag" and "Remove tag": the ticked
    leads, or every lead matching the filter (asked once, with the count, before it runs)."""
    raw = await request.form()
    values = {k: str(v) for k, v in raw.items() if isinstance(v, str)}
    action = values.get("do", "")
    scope = values.get("apply_to") or values.get("scope") or "selected"
    where, applied = filter_from(values)
    workspace = member.workspace
    ids = picked_ids(raw.getlist("lead_ids"))
    try:
        if action not in ORGANIZE:
            raise InvalidInput("Choose what to do with these leads.")
        selection = Selection(filter=where) if scope == "filter" else None
        if selection is None:
            if not ids:
                raise InvalidInput("Tick at least one lead, or choose all matching leads.")
            selection = Selection(lead_ids=ids)
        target = None
        tag = (values.get("tag_value") or "").strip()
        if action in ("list", "unlist"):
            if not values.get("to_list"):
                raise InvalidInput("Choose a list.")
            target = await lists.get(session, workspace.id, uuid.UUID(values["to_list"]))
        elif not tag:
            raise InvalidInput("Type a tag.")
        if scope == "filter":
            count = await bulk.count_selected(session, workspace.id, BulkRequest(filter=where))
            if values.get("confirmed") != str(count):
                name = target.name if target else ""
                what = {
                    "list": f"Add {count:,} leads matching this filter to “{name}”?",
                    "unlist": f"Remove {count:,} leads matching this filter from “{name}”?",
                    "tag": f"Tag {count:,} leads matching this filter “{tag}”?",
                    "untag": f"Remove the tag “{tag}” from {count:,} leads matching this filter?",
                }[action]
                ask = confirmation(
                    "/leads/organize", what, f"{ORGANIZE[action]} {count:,} leads", scope, applied,
                    [], {"do": action, "to_list": values.get("to_list", ""), "tag_value": tag,
                         "confirmed": str(count)},
                )  # fmt: skip
                return await list_page_response(request, session, workspace, confirm=ask)
        done = await organizing.organize(
            session, workspace.id, ORGANIZE_AS[action], selection,
            tags=[tag] if action in ("tag", "untag") else None,
            list_id=target.id if target is not None else None, by=member,
        )  # fmt: skip
        if done.operation is not None:  # a large filter: the list shows its progress
            back = urlencode({**applied, "bulk": str(done.operation.id)})
            return RedirectResponse(f"/leads?{back}", status_code=303)
        changed = done.changed or 0
        plural = "" if changed == 1 else "s"
        name = target.name if target is not None else ""
        notice = {
            "list": f"Added {changed:,} lead{plural} to {name}.",
            "unlist": f"Removed {changed:,} lead{plural} from {name}.",
            "tag": f"Tagged {changed:,} lead{plural} “{tag.lower()}”.",
            "untag": f"Removed the tag from {changed:,} lead{plural}.",
        }[action]
    except (ValidationError, ValueError):
        return await list_page_response(
            request, session, workspace,
            bulk_error="Check the tag (64 characters at most) and the list.",
            status=422,
        )  # fmt: skip
    except AppError as exc:
        return await list_page_response(
            request, session, workspace, bulk_error=exc.message, status=exc.status
        )
    if values.get("back") == "lead" and len(ids) == 1:
        return RedirectResponse(f"/leads/{ids[0]}?notice=saved", status_code=303)
    return RedirectResponse("/leads?" + urlencode({**applied, "notice": notice}), status_code=303)


@router.get("/lists", response_class=HTMLResponse)
async def lists_page(request: Request, session: SessionDep, workspace: WorkspaceDep) -> Response:
    return await _lists_page(request, session, workspace.id)


async def _lists_page(
    request: Request, session: SessionDep, workspace_id: uuid.UUID, *,
    form: dict[str, str] | None = None, errors: dict[str, str] | None = None, status: int = 200,
) -> HTMLResponse:  # fmt: skip
    return render(
        request,
        "leads/lists.html",
        {
            "active": "lists",
            "lists": await lists.all_with_counts(session, workspace_id),
            "form": form or {},
            "errors": errors or {},
            "done": request.query_params.get("done"),
        },
        status=status,
    )


@router.post("/lists", response_class=HTMLResponse)
async def create_list(request: Request, session: SessionDep, member: MemberDep) -> Response:
    raw = await request.form()
    form = {k: str(raw.get(k) or "").strip() for k in ("name", "description")}
    try:
        made = await lists.create(
            session, member.workspace_id, ListCreate.model_validate(form), by=member
        )
    except ValidationError as exc:
        errors = forms.field_errors(exc, key=lambda loc: str(loc[0]))
        return await _lists_page(
            request, session, member.workspace_id, form=form, errors=errors, status=422
        )
    except AppError as exc:
        return await _lists_page(
            request, session, member.workspace_id, form=form, errors={"name": exc.message},
            status=exc.status,
        )  # fmt: skip
    return RedirectResponse(f"/leads?list_id={made.id}", status_code=303)


@router.get("/lists/{list_id:uuid}", response_class=RedirectResponse)
async def list_page(list_id: uuid.UUID, session: SessionDep, workspace: WorkspaceDep) -> Response:
    """A list is the leads table filtered by it."""
    await lists.get(session, workspace.id, list_id)
    return RedirectResponse(f"/leads?list_id={list_id}", status_code=303)


@router.post("/lists/{list_id:uuid}/delete", response_class=HTMLResponse)
async def delete_list(list_id: uuid.UUID, session: SessionDep, member: MemberDep) -> Response:
    await lists.remove_list(session, member.workspace_id, list_id, by=member)
    return RedirectResponse("/lists?done=deleted", status_code=303)


def routers() -> list[APIRouter]:
    """This feature's pages (the list, then a lead's page), in the order they are matched."""
    from leadflood.leads import lead_views

    return [router, lead_views.router]

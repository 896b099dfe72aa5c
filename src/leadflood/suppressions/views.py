"""The suppression list page: who is never contacted, why and since when; add one, import a
CSV, delete with one confirmation. Instance-wide entries show but only an owner (with
ALLOW_GLOBAL_SUPPRESSIONS) or the server's command line changes them."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from leadflood.errors import AppError, InvalidInput
from leadflood.leads import bulk
from leadflood.leads.lead_views import lead_page_response
from leadflood.leads.schemas import BulkRequest
from leadflood.leads.views import filter_from, list_page_response
from leadflood.models import Role, SuppressionKind
from leadflood.pagination import DEFAULT_PAGE_SIZE, InvalidCursor
from leadflood.suppressions import erasure
from leadflood.suppressions import service as suppression
from leadflood.web import forms
from leadflood.web.deps import MemberDep, SessionDep, ViewerDep
from leadflood.web.render import render

router = APIRouter(include_in_schema=False)
KINDS = [k.value for k in SuppressionKind if k != SuppressionKind.person]
REASONS = ("manual", "do_not_contact", "unsubscribed", "bounced", "complained")
GUESS_FAILED = (
    "{value!r} is not an email, a domain, a phone number (with its +country code) or a LinkedIn "
    "profile URL: fix it, or choose its kind."
)


@router.get("/suppressions", response_class=HTMLResponse)
async def suppression_list(
    request: Request,
    session: SessionDep,
    member: ViewerDep,
    error: str | None = None,
    status: int = 200,
    asked: dict[str, str] | None = None,
    add_error: str | None = None,
) -> HTMLResponse:
    """The list; `asked` and `add_error` put a refused "Add one" form back as it was typed,
    with its error under the value."""
    params = request.query_params
    kind = params.get("kind") if params.get("kind") in KINDS else None
    q = (params.get("q") or "").strip()[:320] or None
    cursor = params.get("cursor") or None
    try:
        page = await suppression.list_suppressions(
            session, member.workspace_id, limit=DEFAULT_PAGE_SIZE, cursor=cursor,
            kind=SuppressionKind(kind) if kind else None, search=q,
        )  # fmt: skip
    except InvalidCursor:
        cursor = None
        page = await suppression.list_suppressions(
            session, member.workspace_id, limit=DEFAULT_PAGE_SIZE,
            kind=SuppressionKind(kind) if kind else None, search=q,
        )  # fmt: skip
    keep = {k: v for k, v in (("kind", kind), ("q", q)) if v}
    return render(
        request,
        "suppressions/index.html",
        {
            "active": "settings",
            "tab": "suppressions",
            "rows": page.items,
            "kinds": KINDS,
            "reasons": REASONS,
            "kind_filter": kind,
            "q": q,
            "query": urlencode(keep),
            "cursor": cursor,
            "page": page,
            "error": error,
            "asked": asked or {},
            "add_error": add_error,
            "done": params.get("done"),
        },
        status=status,
    )


@router.post("/suppressions", response_class=HTMLResponse)
async def add_suppression(request: Request, session: SessionDep, member: MemberDep) -> Response:
    raw = await request.form()
    value = str(raw.get("value") or "").strip()
    kind = str(raw.get("kind") or "") or None
    reason = str(raw.get("reason") or "manual")
    try:
        if not value:
            raise suppression.InvalidSuppression("Enter an email, domain, phone or LinkedIn URL.")
        async with forms.savepoint(session):
            await suppression.add(
                session, member.workspace_id, kind or suppression.guess_kind(value), value,
                reason, f"ui:{member.label}"[:80], note=str(raw.get("note") or "")[:1000],
                by=member,
            )  # fmt: skip
    except AppError as exc:
        message = exc.message
        if isinstance(exc, suppression.InvalidSuppression) and value and not kind:
            message = GUESS_FAILED.format(value=value[:80])
        asked = {"value": value, "kind": kind or "", "reason": reason}
        return await suppression_list(
            request, session, member, status=422, asked=asked, add_error=message
        )
    return RedirectResponse(
        "/suppressions?" + urlencode({"done": f"Added {value} to the suppression list."}), 303
    )


@router.post("/suppressions/import", response_class=HTMLResponse)
async def import_suppressions(request: Request, session: SessionDep, member: MemberDep) -> Response:
    raw = await request.form()
    upload = raw.get("file")
    content = await upload.read() if isinstance(upload, UploadFile) else b""
    if not content.strip():
        return await suppression_list(
            request, session, member, error="Choose a CSV file to import.", status=422
        )
    try:
        report = await suppression.import_csv(
            session, member.workspace_id, content, source=f"import:{member.label}"[:80],
            by=member,
        )  # fmt: skip
    except AppError as exc:
        return await suppression_list(request, session, member, error=exc.message, status=422)
    done = f"Imported: {report.added} added, {report.existing} already there"
    done += "."
    if report.rejected:
        shown = "; ".join(f"line {r['line']}: {r['error']}" for r in report.rejected[:3])
        more = len(report.rejected) - 3
        done += f" {len(report.rejected)} rejected — {shown}" + (
            f"; {more} more." if more > 0 else ""
        )
    return RedirectResponse("/suppressions?" + urlencode({"done": done}), 303)


@router.post("/suppressions/{suppression_id}/delete", response_class=HTMLResponse)
async def delete_suppression(
    suppression_id: uuid.UUID, request: Request, session: SessionDep, member: MemberDep
) -> Response:
    try:
        await suppression.delete_suppression(
            session, member.workspace_id, suppression_id, may_global=False,
            by=member,
        )  # fmt: skip
    except suppression.GlobalSuppressionForbidden as exc:
        return await suppression_list(request, session, member, error=exc.message, status=403)
    return RedirectResponse(
        "/suppressions?" + urlencode({"done": "Removed from the suppression list."}), 303
    )


@router.post("/leads/{lead_id:uuid}/delete", response_class=HTMLResponse)
async def delete_lead(lead_id: uuid.UUID, session: SessionDep, member: MemberDep) -> Response:
    await erasure.delete_lead(session, member.workspace_id, lead_id, by=member)
    return RedirectResponse("/leads?" + urlencode({"done": "deleted"}), status_code=303)


@router.post("/leads/{lead_id:uuid}/erase", response_class=HTMLResponse)
async def erase_lead(
    lead_id: uuid.UUID, request: Request, session: SessionDep, member: MemberDep
) -> Response:
    if not member.role.at_least(Role.admin):
        return await lead_page_response(
            request, session, member.workspace_id, lead_id, status=403,
            error="Only an owner or an admin can erase a person: ask one of them.",
        )  # fmt: skip
    await erasure.erase_person(session, member.workspace_id, lead_id, member)
    return RedirectResponse("/leads?" + urlencode({"done": "erased"}), status_code=303)


@router.post("/leads/bulk-delete", response_class=HTMLResponse)
async def bulk_delete(request: Request, session: SessionDep, member: MemberDep) -> Response:
    """The list's "Delete" buttons: the first post shows how many leads the selection holds now
    and asks once; the confirmed post starts the deletion in the background."""
    raw = await request.form()
    values = {k: str(v) for k, v in raw.items() if isinstance(v, str)}
    where, applied = filter_from(values)
    scope = str(raw.get("scope") or "")
    picked = [str(v) for v in raw.getlist("lead_ids") if isinstance(v, str)]
    try:
        if scope == "filter":
            selection = BulkRequest(filter=where)
        elif not picked:
            raise InvalidInput("Tick at least one lead, or choose all matching leads.")
        else:
            selection = BulkRequest.model_validate({"lead_ids": picked})
        if raw.get("confirmed") != "yes":
            count = await bulk.count_selected(session, member.workspace_id, selection)
            if not count:
                raise InvalidInput("No lead matches this selection any more.")
            confirm = {"count": count, "scope": scope, "lead_ids": picked, "filters": applied}
            return await list_page_response(
                request, session, member.workspace, confirm_delete=confirm
            )
        operation, _ = await erasure.start_bulk_delete(
            session, member.workspace_id, selection, by=member
        )
    except ValidationError:
        return await list_page_response(
            request, session, member.workspace, bulk_error="Those leads cannot be selected.",
            status=422,
        )  # fmt: skip
    except AppError as exc:
        return await list_page_response(
            request, session, member.workspace, bulk_error=exc.message, status=exc.status
        )
    return RedirectResponse(
        "/leads?" + urlencode({**applied, "bulk": str(operation.id)}), status_code=303
    )


def routers() -> list[APIRouter]:
    """This feature's pages, in the order they are matched."""
    return [router]

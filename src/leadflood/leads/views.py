from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from leadflood.deps import SessionDep, WorkspaceDep
from leadflood.leads import service as leads
from leadflood.leads.schemas import LeadCreate
from leadflood.models import LeadStatus
from leadflood.pagination import DEFAULT_PAGE_SIZE
from leadflood.ui.render import render

router = APIRouter(include_in_schema=False)

FORM_FIELDS = ("email", "first_name", "last_name", "company_name", "phone")


async def _page(
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    params = request.query_params
    status_filter = params.get("status") if params.get("status") in LeadStatus.__members__ else None
    cursor = params.get("cursor") or None
    rows, next_cursor = await leads.list_page(
        session,
        workspace.id,
        limit=DEFAULT_PAGE_SIZE,
        cursor=cursor,
        status=LeadStatus(status_filter) if status_filter else None,
        search=params.get("q") or None,
    )
    counts = await leads.count_by_status(session, workspace.id)
    return render(
        request,
        "leads/index.html",
        {
            "active": "leads",
            "workspace_name": workspace.name,
            "leads": rows,
            "next_cursor": next_cursor,
            "cursor": cursor,
            "counts": counts,
            "total": sum(counts.values()),
            "status_filter": status_filter,
            "q": params.get("q"),
            "form": form or {},
            "errors": errors or {},
            "created": params.get("created"),
        },
        status=status,
    )


@router.get("/", response_class=RedirectResponse)
async def home() -> RedirectResponse:
    return RedirectResponse("/leads", status_code=303)


@router.get("/leads", response_class=HTMLResponse)
async def leads_page(request: Request, session: SessionDep, workspace: WorkspaceDep) -> Response:
    return await _page(request, session, workspace)


@router.post("/leads", response_class=HTMLResponse)
async def create_lead(request: Request, session: SessionDep, workspace: WorkspaceDep) -> Response:
    raw = await request.form()
    form = {name: str(raw.get(name) or "").strip() for name in FORM_FIELDS}
    try:
        data = LeadCreate.model_validate({k: v for k, v in form.items() if v})
        lead, _ = await leads.create(session, workspace.id, data)
    except ValidationError as exc:
        errors = {str(err["loc"][0]): _human(err) for err in exc.errors()}
        return await _page(request, session, workspace, form=form, errors=errors, status=422)
    except leads.LeadExists as exc:
        return await _page(
            request, session, workspace, form=form, errors={"email": exc.message}, status=409
        )
    return RedirectResponse(f"/leads?created={lead.id}", status_code=303)


def _human(error: Any) -> str:
    if error["type"] == "missing":
        return "This field is required."
    return str(error["msg"]).removeprefix("Value error, ")


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
            }
            for lead_id, lead in found.items()
        }
    )

"""Companies pages: the list (search, keyset pages) and a company with its people, their
enrollment states and a form to correct its name, domain, size and industry."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from leadflood.companies import service as companies
from leadflood.companies.schemas import CompanyUpdate
from leadflood.errors import AppError
from leadflood.web import forms
from leadflood.web.deps import MemberDep, SessionDep, ViewerDep
from leadflood.web.render import render

router = APIRouter(include_in_schema=False)
EDITABLE = ("name", "domain", "employee_count", "industry")


@router.get("/companies", response_class=HTMLResponse)
async def index(request: Request, session: SessionDep, member: ViewerDep) -> Response:
    q = (request.query_params.get("q") or "").strip()[:200]
    cursor = request.query_params.get("cursor") or None
    page = await companies.list_page(session, member.workspace_id, q=q, limit=50, cursor=cursor)
    return render(
        request,
        "companies/index.html",
        {"active": "companies", "page": page, "q": q, "cursor": cursor},
    )


async def _show(
    request: Request,
    session: SessionDep,
    workspace_id: uuid.UUID,
    company_id: uuid.UUID,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    company = await companies.detail(session, workspace_id, company_id)
    values = form or {
        name: "" if getattr(company, name) is None else getattr(company, name) for name in EDITABLE
    }
    return render(
        request,
        "companies/show.html",
        {
            "active": "companies",
            "company": company,
            "values": values,
            "errors": errors or {},
            "saved": request.query_params.get("saved"),
        },
        status=status,
    )


@router.get("/companies/{company_id}", response_class=HTMLResponse)
async def show(
    company_id: uuid.UUID, request: Request, session: SessionDep, member: ViewerDep
) -> Response:
    return await _show(request, session, member.workspace_id, company_id)


@router.post("/companies/{company_id}", response_class=HTMLResponse)
async def save(
    company_id: uuid.UUID, request: Request, session: SessionDep, member: MemberDep
) -> Response:
    raw = await request.form()
    form = {name: str(raw.get(name) or "").strip() for name in EDITABLE}
    payload: dict[str, Any] = {name: value or None for name, value in form.items()}
    errors: dict[str, str] = {}
    if not form["domain"]:
        errors["domain"] = "A company needs a domain."
    if form["employee_count"] and not form["employee_count"].isdigit():
        errors["employee_count"] = "Enter a whole number of employees."
    if not errors:
        try:
            data = CompanyUpdate.model_validate(payload)
            await companies.update(session, member.workspace_id, company_id, data, by=member)
        except ValidationError as exc:
            errors = forms.field_errors(exc)
        except AppError as exc:
            field = exc.details.get("field") if isinstance(exc.details, dict) else None
            errors = {str(field or "name"): exc.message}
    if errors:
        return await _show(
            request, session, member.workspace_id, company_id,
            form=form, errors=errors, status=422,
        )  # fmt: skip
    return RedirectResponse(f"/companies/{company_id}?saved=1", status_code=303)


def routers() -> list[APIRouter]:
    """This feature's pages, in the order they are matched."""
    return [router]

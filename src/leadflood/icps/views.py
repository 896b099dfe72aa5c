from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from leadflood.icps import criteria as vocab
from leadflood.icps import service as icps
from leadflood.icps.schemas import SOURCES, IcpCreate, IcpUpdate
from leadflood.models import Icp
from leadflood.web import forms
from leadflood.web.deps import MemberDep, SessionDep, ViewerDep
from leadflood.web.render import render

router = APIRouter(include_in_schema=False)

# (name, label, hint) of the multi-value criteria, as the form shows them.
CRITERIA_FIELDS = (
    ("titles", "Job titles", "VP Sales, Head of Sales"),
    ("seniorities", "Seniorities", ", ".join(vocab.SENIORITIES[:6]) + "…"),
    ("departments", "Departments", "sales, marketing"),
    ("industries", "Industries", "Computer Software, Internet"),
    ("employee_ranges", "Company sizes", "51-200, 201-500, 5001+"),
    ("countries", "Countries or regions", "US, GB, DACH, Nordics"),
    ("keywords", "Keywords", "cloud, payments"),
    ("technologies", "Technologies", "Salesforce, HubSpot"),
    ("exclude_domains", "Exclude domains", "competitor.com"),
)
WEIGHT_LABELS = {
    "titles": "Title",
    "seniorities": "Seniority",
    "departments": "Department",
    "industries": "Industry",
    "employee_ranges": "Company size",
    "countries": "Country",
    "keywords": "Keyword",
    "technologies": "Technology",
    "email_risky": "Email risky",
    "email_invalid": "Email invalid",
    "excluded": "Excluded company",
}


def _form_of(icp: Icp | None) -> dict[str, Any]:
    if icp is None:
        return {"source": "sandbox"} | {f"w_{k}": v for k, v in vocab.DEFAULT_WEIGHTS.items()}
    form: dict[str, Any] = {
        "name": icp.name,
        "description": icp.description or "",
        "source": icp.source,
        "exclude_existing_customers": bool(icp.criteria.get("exclude_existing_customers")),
        "customer_domains": "\n".join(icp.criteria.get("customer_domains") or []),
    }
    for name, _, _ in CRITERIA_FIELDS:
        form[name] = ", ".join(icp.criteria.get(name) or [])
    for name, value in vocab.weights_with_defaults(icp.weights).items():
        form[f"w_{name}"] = value
    return form


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()]


async def _read_form(request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
    raw = await request.form()
    form: dict[str, Any] = {key: str(raw.get(key) or "").strip() for key in raw}
    form["exclude_existing_customers"] = raw.get("exclude_existing_customers") == "on"
    criteria: dict[str, Any] = {name: _split(form.get(name, "")) for name, _, _ in CRITERIA_FIELDS}
    criteria["customer_domains"] = _split(form.get("customer_domains", ""))
    criteria["exclude_existing_customers"] = form["exclude_existing_customers"]
    weights: dict[str, Any] = {}
    for name in vocab.DEFAULT_WEIGHTS:
        value = form.get(f"w_{name}", "")
        if value != "":
            weights[name] = value
    payload = {
        "name": form.get("name", ""),
        "description": form.get("description") or None,
        "source": form.get("source") or "sandbox",
        "criteria": criteria,
        "weights": weights,
    }
    return form, payload


def _field(loc: forms.Loc) -> str:
    parts = [str(part) for part in loc]
    if parts[:1] == ["weights"] and len(parts) > 1:
        return f"w_{parts[1]}"
    if parts[:1] == ["criteria"]:
        return parts[1] if len(parts) > 1 else "_criteria"
    return parts[0] if parts else forms.FORM


def _errors(exc: ValidationError) -> dict[str, str]:
    errors = forms.field_errors(exc, key=_field)
    return errors


def _form_page(
    request: Request, icp: Icp | None, form: dict[str, Any], errors: dict[str, str], status: int
) -> HTMLResponse:
    return render(
        request,
        "icps/form.html",
        {
            "active": "icps",
            "icp": icp,
            "form": form,
            "errors": errors,
            "criteria_fields": CRITERIA_FIELDS,
            "weight_labels": WEIGHT_LABELS,
            "penalties": vocab.PENALTIES,
            "sources": SOURCES,
        },
        status=status,
    )


@router.get("/icps", response_class=HTMLResponse)
async def icp_list(request: Request, session: SessionDep, member: ViewerDep) -> Response:
    cursor = request.query_params.get("cursor") or None
    page = await icps.list_page(session, member.workspace_id, limit=50, cursor=cursor)
    rows = page.items
    ids = [row.id for row in rows]
    return render(
        request,
        "icps/index.html",
        {
            "active": "icps",
            "icps": rows,
            "counts": await icps.lead_counts(session, member.workspace_id, ids),
            "runs": await icps.latest_runs(session, member.workspace_id, ids),
            "page": page,
            "cursor": cursor,
            "deleted": request.query_params.get("deleted"),
        },
    )


@router.get("/icps/new", response_class=HTMLResponse)
async def new_icp(request: Request, member: MemberDep) -> Response:
    return _form_page(request, None, _form_of(None), {}, 200)


@router.post("/icps", response_class=HTMLResponse)
async def create_icp(request: Request, session: SessionDep, member: MemberDep) -> Response:
    form, payload = await _read_form(request)
    try:
        icp = await icps.create(session, member.workspace_id, IcpCreate.model_validate(payload))
    except ValidationError as exc:
        return _form_page(request, None, form, _errors(exc), 422)
    except icps.IcpNameTaken as exc:
        return _form_page(request, None, form, {"name": exc.message}, 409)
    return RedirectResponse(f"/icps/{icp.id}?created=1", status_code=303)


@router.get("/icps/{icp_id}/edit", response_class=HTMLResponse)
async def edit_icp(
    icp_id: uuid.UUID, request: Request, session: SessionDep, member: MemberDep
) -> Response:
    icp = await icps.get(session, member.workspace_id, icp_id)
    return _form_page(request, icp, _form_of(icp), {}, 200)


@router.post("/icps/{icp_id}/edit", response_class=HTMLResponse)
async def save_icp(
    icp_id: uuid.UUID, request: Request, session: SessionDep, member: MemberDep
) -> Response:
    icp = await icps.get(session, member.workspace_id, icp_id)
    form, payload = await _read_form(request)
    try:
        data = IcpUpdate.model_validate(payload)
        await icps.update_icp(session, member.workspace_id, icp.id, data)
    except ValidationError as exc:
        return _form_page(request, icp, form, _errors(exc), 422)
    except icps.IcpNameTaken as exc:
        return _form_page(request, icp, form, {"name": exc.message}, 409)
    return RedirectResponse(f"/icps/{icp.id}?saved=1", status_code=303)


@router.post("/icps/{icp_id}/delete")
async def delete_icp(icp_id: uuid.UUID, session: SessionDep, member: MemberDep) -> Response:
    await icps.delete(session, member.workspace_id, icp_id)
    return RedirectResponse("/icps?deleted=1", status_code=303)


def routers() -> list[APIRouter]:
    """This feature's pages, in the order they are matched."""
    return [router]

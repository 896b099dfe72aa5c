"""The lead page: every field with its source, the verification evidence, the score breakdown
and the timeline; buttons to enrich or verify again."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from leadflood.deps import MemberDep, SessionDep, WorkspaceDep
from leadflood.errors import AppError
from leadflood.leads import actions, timeline
from leadflood.leads import service as leads
from leadflood.leads.timeline import SHOWN_FIELDS
from leadflood.ui.render import render

router = APIRouter(include_in_schema=False)

LABELS = {
    "email": "Email",
    "first_name": "First name",
    "last_name": "Last name",
    "title": "Title",
    "seniority": "Seniority",
    "department": "Department",
    "phone": "Phone",
    "linkedin_url": "LinkedIn",
    "company_name": "Company",
    "company_domain": "Company domain",
    "company_industry": "Industry",
    "company_size": "Employees",
    "city": "City",
    "country": "Country",
    "timezone": "Time zone",
}


async def _page(
    request: Request,
    session: SessionDep,
    workspace_id: uuid.UUID,
    lead_id: uuid.UUID,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    lead = await leads.get(session, workspace_id, lead_id)
    detail = await timeline.detail(session, lead)
    sources = {source.field: source for source in detail.sources}
    rows = [
        (name, LABELS.get(name, name), getattr(lead, name), sources.get(name))
        for name in SHOWN_FIELDS
    ]
    name = " ".join(p for p in (lead.first_name, lead.last_name) if p) or lead.email or "Lead"
    return render(
        request,
        "leads/detail.html",
        {
            "active": "leads",
            "lead": lead,
            "name": name,
            "rows": rows,
            "custom_fields": lead.custom_fields or {},
            "detail": detail,
            "evidence": detail.verification_evidence,
            "notice": notice or request.query_params.get("notice"),
            "error": error,
        },
        status=status,
    )


@router.get("/leads/{lead_id:uuid}", response_class=HTMLResponse)
async def lead_page(
    lead_id: uuid.UUID, request: Request, session: SessionDep, workspace: WorkspaceDep
) -> Response:
    return await _page(request, session, workspace.id, lead_id)


@router.post("/leads/{lead_id:uuid}/enrich", response_class=HTMLResponse)
async def enrich(
    lead_id: uuid.UUID, request: Request, session: SessionDep, member: MemberDep
) -> Response:
    try:
        await actions.request_enrich(session, member.workspace_id, lead_id)
    except AppError as exc:
        if exc.status == 404:
            raise
        return await _page(
            request, session, member.workspace_id, lead_id, error=exc.message, status=exc.status
        )
    return RedirectResponse(f"/leads/{lead_id}?notice=enriching", status_code=303)


@router.post("/leads/{lead_id:uuid}/verify", response_class=HTMLResponse)
async def verify(
    lead_id: uuid.UUID, request: Request, session: SessionDep, member: MemberDep
) -> Response:
    try:
        await actions.request_verify(session, member.workspace_id, lead_id)
    except AppError as exc:
        if exc.status == 404:
            raise
        return await _page(
            request, session, member.workspace_id, lead_id, error=exc.message, status=exc.status
        )
    return RedirectResponse(f"/leads/{lead_id}?notice=verifying", status_code=303)

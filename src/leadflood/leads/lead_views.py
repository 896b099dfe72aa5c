"""The lead page: every field with its source, the verification evidence, the score breakdown
and the timeline; buttons to enrich or verify again."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from leadflood.leads import service as leads
from leadflood.leads import timeline
from leadflood.leads.timeline import SHOWN_FIELDS
from leadflood.web.deps import SessionDep, WorkspaceDep
from leadflood.web.render import render

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


async def lead_page_response(
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
    return await lead_page_response(request, session, workspace.id, lead_id)

"""The lead page: every field with its source, the verification evidence, the score breakdown
and the timeline; buttons to enrich or verify again, and the page to edit every field."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from leadflood.errors import AppError
from leadflood.leads import lists, notes, outreach, timeline
from leadflood.leads import service as leads
from leadflood.leads.schemas import LeadUpdate
from leadflood.leads.timeline import SHOWN_FIELDS
from leadflood.models import Lead
from leadflood.web import forms
from leadflood.web.deps import MemberDep, SessionDep, WorkspaceDep
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
    member = getattr(request.state, "member", None)
    user = getattr(member, "user", None)
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
            "messages": await outreach.messages_of(session, workspace_id, lead.id),
            "notes": await notes.of_lead(session, workspace_id, lead.id),
            "members": await notes.members(session, workspace_id),
            "in_lists": await lists.names_of(session, workspace_id, lead.id),
            "all_lists": await lists.all_with_counts(session, workspace_id),
            "user_id": user.id if user is not None else None,
        },
        status=status,
    )


EDITABLE = tuple(
    name for name in LeadUpdate.model_fields if name not in ("custom_fields", "owner_id")
)
HINTS = {
    "phone": "International form, e.g. +14155550123.",
    "linkedin_url": "The profile's URL, e.g. linkedin.com/in/jane-doe.",
    "timezone": "IANA name, e.g. Europe/Berlin; used for sending windows.",
    "country": "A name or an ISO code; stored as the code.",
}
NEW_KEYS = 2  # empty rows for new custom fields


def _form_of(lead: Lead) -> dict[str, Any]:
    values = {name: getattr(lead, name) for name in EDITABLE}
    return {k: "" if v is None else str(v) for k, v in values.items()}


async def _edit_page(
    request: Request,
    lead: Lead,
    form: dict[str, str],
    custom: list[tuple[str, str]],
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    name = " ".join(p for p in (lead.first_name, lead.last_name) if p) or lead.email or "Lead"
    return render(
        request,
        "leads/edit.html",
        {
            "active": "leads",
            "lead": lead,
            "name": name,
            "fields": [(f, LABELS.get(f, f), HINTS.get(f, "")) for f in EDITABLE],
            "form": form,
            "custom": custom + [("", "")] * NEW_KEYS,
            "errors": errors or {},
        },
        status=status,
    )


@router.get("/leads/{lead_id:uuid}/edit", response_class=HTMLResponse)
async def edit_page(
    lead_id: uuid.UUID, request: Request, session: SessionDep, member: MemberDep
) -> Response:
    lead = await leads.get(session, member.workspace_id, lead_id)
    custom = [(str(k), "" if v is None else str(v)) for k, v in (lead.custom_fields or {}).items()]
    return await _edit_page(request, lead, _form_of(lead), custom)


@router.post("/leads/{lead_id:uuid}/edit", response_class=HTMLResponse)
async def save(
    lead_id: uuid.UUID, request: Request, session: SessionDep, member: MemberDep
) -> Response:
    """The whole form is sent: an emptied input clears its field; a custom field whose key or
    value is emptied is removed."""
    lead = await leads.get(session, member.workspace_id, lead_id)
    raw = await request.form()
    form = {name: str(raw.get(name) or "").strip() for name in EDITABLE}
    keys = [str(k).strip() for k in raw.getlist("custom_key")]
    values = [str(v).strip() for v in raw.getlist("custom_value")]
    custom = [(k, v) for k, v in zip(keys, values, strict=False) if k or v]
    wanted: dict[str, Any] = {name: (value or None) for name, value in form.items()}
    given = {k: v for k, v in custom if k and v}
    wanted["custom_fields"] = {
        **dict.fromkeys(lead.custom_fields or {}),  # every key not sent again is removed
        **given,
    }
    errors: dict[str, str] = {}
    if any(v and not k for k, v in custom):
        errors["custom_fields"] = "Give each custom value a name."
    try:
        data = LeadUpdate.model_validate(wanted)
        if errors:
            raise AppError(errors["custom_fields"], details={"field": "custom_fields"})
        await leads.update(session, member.workspace_id, lead_id, data, by=member)
    except ValidationError as exc:
        errors |= forms.field_errors(exc, key=lambda loc: str(loc[0]))
        return await _edit_page(request, lead, form, custom, errors=errors, status=422)
    except AppError as exc:
        if exc.status == 404:
            raise
        errors |= forms.field_errors(exc)
        return await _edit_page(request, lead, form, custom, errors=errors, status=exc.status)
    return RedirectResponse(f"/leads/{lead_id}?notice=saved", status_code=303)


@router.get("/leads/{lead_id:uuid}", response_class=HTMLResponse)
async def lead_page(
    lead_id: uuid.UUID, request: Request, session: SessionDep, workspace: WorkspaceDep
) -> Response:
    return await lead_page_response(request, session, workspace.id, lead_id)


@router.post("/leads/{lead_id:uuid}/owner", response_class=HTMLResponse)
async def set_owner(
    lead_id: uuid.UUID, request: Request, session: SessionDep, member: MemberDep
) -> Response:
    raw = await request.form()
    value = str(raw.get("owner_id") or "").strip()
    try:
        data = LeadUpdate.model_validate({"owner_id": value or None})
        await leads.update(session, member.workspace_id, lead_id, data, by=member)
    except ValidationError:
        return await lead_page_response(
            request, session, member.workspace_id, lead_id, error="Choose a member.", status=422
        )
    except AppError as exc:
        if exc.status == 404:
            raise
        return await lead_page_response(
            request, session, member.workspace_id, lead_id, error=exc.message, status=exc.status
        )
    return RedirectResponse(f"/leads/{lead_id}?notice=saved", status_code=303)


@router.post("/leads/{lead_id:uuid}/notes", response_class=HTMLResponse)
async def add_note(
    lead_id: uuid.UUID, request: Request, session: SessionDep, member: MemberDep
) -> Response:
    raw = await request.form()
    text = str(raw.get("text") or "")[:10_000]
    try:
        await notes.add(session, member.workspace_id, lead_id, text, by=member)
    except notes.EmptyNote as exc:
        return await lead_page_response(
            request, session, member.workspace_id, lead_id, error=exc.message, status=422
        )
    return RedirectResponse(f"/leads/{lead_id}#notes-title", status_code=303)


@router.post("/leads/{lead_id:uuid}/notes/{note_id:uuid}/delete", response_class=HTMLResponse)
async def delete_note(
    lead_id: uuid.UUID, note_id: uuid.UUID, request: Request, session: SessionDep,
    member: MemberDep,
) -> Response:  # fmt: skip
    try:
        await notes.delete(session, member.workspace_id, lead_id, note_id, by=member)
    except notes.NoteNotYours as exc:
        return await lead_page_response(
            request, session, member.workspace_id, lead_id, error=exc.message, status=403
        )
    return RedirectResponse(f"/leads/{lead_id}#notes-title", status_code=303)

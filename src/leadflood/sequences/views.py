"""Sequence pages: the list, a new sequence, and the builder (steps, settings, live preview,
test send, state changes). Step editing is in step_views.py, enrollments in
enrollment_views.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.db.scope import get_scoped, scoped
from leadflood.errors import AppError
from leadflood.leads.service import LeadNotFound
from leadflood.mailboxes import service as mailboxes
from leadflood.models import Lead, SequenceState
from leadflood.sending import service as sending
from leadflood.sequences import preview, queries, sample_send
from leadflood.sequences import service as sequences
from leadflood.sequences.api_schemas import TestSendRequest
from leadflood.sequences.schemas import SequenceCreate, SequenceUpdate
from leadflood.sequences.templating import (
    COMPANY_FIELDS,
    LEAD_VARIABLES,
    SENDER_FIELDS,
    TemplateError,
)
from leadflood.web import forms
from leadflood.web.deps import MemberDep, RuntimeDep, SessionDep, ViewerDep
from leadflood.web.render import render

router = APIRouter(include_in_schema=False)
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
STOP_RULES = (
    ("on_reply", "Stop when the lead replies"),
    ("on_bounce", "Stop when an email bounces"),
    ("on_unsubscribe", "Stop when the lead unsubscribes"),
    ("on_meeting", "Stop when a meeting is booked"),
    ("skip_if_active_elsewhere", "Skip leads already active in another sequence"),
)
STATES = ("draft", "active", "paused", "archived")


def delay_text(amount: int, unit: str, position: int) -> str:
    if amount == 0:
        return "Right away" if position == 1 else "Right after the previous step"
    label = unit.replace("_", " ")
    if amount == 1:
        label = label.removesuffix("s")
    return f"After {amount} {label}"


def cheat_sheet(custom: frozenset[str]) -> list[tuple[str, str]]:
    rows = [(f"{{{{ {name} }}}}", "lead") for name in sorted(LEAD_VARIABLES)]
    rows += [(f"{{{{ company.{name} }}}}", "company") for name in sorted(COMPANY_FIELDS)]
    rows += [(f"{{{{ sender.{name} }}}}", "sender") for name in sorted(SENDER_FIELDS)]
    rows += [(f"{{{{ custom.{name} }}}}", "custom field") for name in sorted(custom)]
    return rows


def field_errors(exc: ValidationError, prefix: str = "") -> dict[str, str]:
    errors = forms.field_errors(exc, prefix=prefix)
    if prefix and prefix + "window" in errors:
        errors.setdefault("window", errors.pop(prefix + "window"))
    return errors


@router.get("/sequences", response_class=HTMLResponse)
async def sequence_list(request: Request, session: SessionDep, member: ViewerDep) -> Response:
    params = request.query_params
    state = params.get("state") if params.get("state") in STATES else None
    cursor = params.get("cursor") or None
    page = await sequences.list_page(
        session,
        member.workspace_id,
        limit=50,
        cursor=cursor,
        state=SequenceState(state) if state else None,
    )
    counts = await queries.counts(session, member.workspace_id, [r.id for r in page.items])
    return render(
        request,
        "sequences/index.html",
        {
            "active": "sequences",
            "sequences": page.items,
            "counts": counts,
            "state_filter": state,
            "states": STATES,
            "cursor": cursor,
            "page": page,
            "deleted": params.get("deleted"),
        },
    )


def _new_page(
    request: Request, form: dict[str, str], errors: dict[str, str], status: int = 200
) -> HTMLResponse:
    return render(
        request,
        "sequences/new.html",
        {"active": "sequences", "form": form, "errors": errors},
        status=status,
    )


@router.get("/sequences/new", response_class=HTMLResponse)
async def new_sequence(request: Request, member: MemberDep) -> Response:
    return _new_page(request, {"timezone": "UTC"}, {})


@router.post("/sequences", response_class=HTMLResponse)
async def create_sequence(request: Request, session: SessionDep, member: MemberDep) -> Response:
    raw = await request.form()
    form = {k: str(raw.get(k) or "").strip() for k in ("name", "description", "timezone")}
    try:
        data = SequenceCreate.model_validate(
            {**form, "timezone": form["timezone"] or "UTC", "postal_address": ""}
        )
    except ValidationError as exc:
        return _new_page(request, form, field_errors(exc), 422)
    sequence = await sequences.create(session, member.workspace_id, data, by=member)
    return RedirectResponse(f"/sequences/{sequence.id}?created=1", status_code=303)


async def _leads_for_preview(session: AsyncSession, workspace_id: uuid.UUID) -> list[Lead]:
    query = (
        scoped(Lead, workspace_id)
        .where(Lead.email.is_not(None))
        .order_by(Lead.created_at.desc(), Lead.id)
        .limit(50)
    )
    return list((await session.scalars(query)).all())


async def builder_page(
    request: Request,
    session: AsyncSession,
    runtime: Any,
    workspace_id: uuid.UUID,
    sequence_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    add_form: dict[str, str] | None = None,
    flash: str | None = None,
    problem: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    sequence = await sequences.get(session, workspace_id, sequence_id)
    leads = await _leads_for_preview(session, workspace_id)
    boxes = await mailboxes.list_all(session, workspace_id)
    chosen = set(await sequences.mailbox_ids(session, sequence.id))
    lead_param = request.query_params.get("lead_id")
    preview_lead = next((lead for lead in leads if str(lead.id) == lead_param), None)
    if preview_lead is None and lead_param:
        try:
            preview_lead = await get_scoped(
                session, Lead, workspace_id, uuid.UUID(lead_param), error=LeadNotFound
            )
        except (ValueError, LeadNotFound):
            preview_lead = None
    preview_lead = preview_lead or (leads[0] if leads else None)
    planned: list[Any] = []
    preview_error = None
    if preview_lead is not None and sequence.steps:
        try:
            planned = await preview.timeline(
                session, sequence, preview_lead, datetime.now(UTC), settings=runtime.settings
            )
        except TemplateError as exc:
            preview_error = exc.message
    problems = []
    if sequence.state in (SequenceState.draft, SequenceState.paused):
        problems = await sequences.readiness_problems(
            session, sequence, links_problem=runtime.settings.private_links_problem
        )
    report = await queries.report(session, workspace_id, sequence.id)
    custom = await sequences.known_custom_fields(session, workspace_id)
    settings_form = form or {
        "timezone": sequence.timezone,
        "days": (sequence.window or {}).get("days", [0, 1, 2, 3, 4]),
        "start": (sequence.window or {}).get("start", "09:00"),
        "end": (sequence.window or {}).get("end", "17:00"),
        "stop_rules": {
            key: bool((sequence.stop_rules or {}).get(key, True)) for key, _ in STOP_RULES
        },
        "mailbox_ids": {str(i) for i in chosen},
        "postal_address": sequence.postal_address,
        "min_score": sequence.min_score,
        "require_verified_email": sequence.require_verified_email,
        "name": sequence.name,
        "description": sequence.description,
    }
    return render(
        request,
        "sequences/builder.html",
        {
            "active": "sequences",
            "sequence": sequence,
            "delays": {
                s.id: delay_text(s.delay_amount, s.delay_unit, s.position) for s in sequence.steps
            },
            "leads": leads,
            "preview_lead": preview_lead,
            "planned": planned,
            "preview_error": preview_error,
            "mailboxes": boxes,
            "active_mailboxes": [m for m in boxes if m.state == "active" and m.id in chosen]
            or [m for m in boxes if m.state == "active"],
            "problems": problems,
            "report": report,
            "variables": cheat_sheet(custom),
            "settings_form": settings_form,
            "errors": errors or {},
            "day_names": DAY_NAMES,
            "stop_rule_labels": STOP_RULES,
            "editable": sequence.state != SequenceState.archived,
            "flash": flash or _flash(request),
            "problem": problem,
            "add_form": add_form or {},
        },
        status=status,
    )


def _flash(request: Request) -> str | None:
    params = request.query_params
    messages = {
        "created": "Sequence created. Add its steps, choose a mailbox, then activate it.",
        "saved": "Settings saved.",
        "step_saved": "Step saved.",
        "step_added": "Step added.",
        "step_deleted": "Step deleted.",
        "activated": "The sequence is active: enrolled leads get their first step in their "
        "sending window.",
        "paused": "Paused: nothing more leaves until you resume.",
        "resumed": "Resumed.",
        "archived": "Archived: every enrollment has stopped.",
    }
    for key, text in messages.items():
        if params.get(key):
            return text
    if sent_to := params.get("test_sent"):
        return f"Test email queued to {sent_to}: it leaves through the mailbox within seconds."
    return None


@router.get("/sequences/{sequence_id}", response_class=HTMLResponse)
async def builder(
    sequence_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    member: ViewerDep,
    runtime: RuntimeDep,
) -> Response:
    return await builder_page(request, session, runtime, member.workspace_id, sequence_id)


@router.post("/sequences/{sequence_id}/settings", response_class=HTMLResponse)
async def save_settings(
    sequence_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    member: MemberDep,
    runtime: RuntimeDep,
) -> Response:
    raw = await request.form()
    days = [int(str(d)) for d in raw.getlist("days") if str(d).isdigit()]
    form: dict[str, Any] = {
        "name": str(raw.get("name") or "").strip(),
        "description": str(raw.get("description") or "").strip(),
        "timezone": str(raw.get("timezone") or "").strip(),
        "days": days,
        "start": str(raw.get("start") or "").strip(),
        "end": str(raw.get("end") or "").strip(),
        "stop_rules": {key: raw.get(key) == "on" for key, _ in STOP_RULES},
        "mailbox_ids": {str(m) for m in raw.getlist("mailbox_ids")},
        "postal_address": str(raw.get("postal_address") or "").strip(),
        "min_score": str(raw.get("min_score") or "").strip() or None,
        "require_verified_email": raw.get("require_verified_email") == "on",
    }
    try:
        data = SequenceUpdate.model_validate(
            {
                "name": form["name"],
                "description": form["description"],
                "timezone": form["timezone"],
                "window": {"days": days, "start": form["start"], "end": form["end"]},
                "stop_rules": form["stop_rules"],
                "mailbox_ids": sorted(form["mailbox_ids"]),
                "postal_address": form["postal_address"],
                "min_score": form["min_score"],
                "require_verified_email": form["require_verified_email"],
            }
        )
        await sequences.update_settings(session, member.workspace_id, sequence_id, data, by=member)
    except ValidationError as exc:
        errors = field_errors(exc)
        return await builder_page(
            request, session, runtime, member.workspace_id, sequence_id,
            errors=errors, form=form, status=422,
        )  # fmt: skip
    return RedirectResponse(f"/sequences/{sequence_id}?saved=1#settings", status_code=303)


@router.post("/sequences/{sequence_id}/state", response_class=HTMLResponse)
async def change_state(
    sequence_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    member: MemberDep,
    runtime: RuntimeDep,
) -> Response:
    action = str((await request.form()).get("action") or "")
    if action not in sequences.ACTIONS:
        return RedirectResponse(f"/sequences/{sequence_id}", status_code=303)
    try:
        await sequences.apply_action(
            session, member.workspace_id, sequence_id, action, now=datetime.now(UTC), by=member,
            links_problem=runtime.settings.private_links_problem,
        )  # fmt: skip
    except AppError as exc:
        problem = exc.message
    else:
        done = {"activate": "activated", "pause": "paused", "resume": "resumed"}
        return RedirectResponse(
            f"/sequences/{sequence_id}?{done.get(action, 'archived')}=1", status_code=303
        )
    return await builder_page(
        request, session, runtime, member.workspace_id, sequence_id, problem=problem, status=409
    )


@router.post("/sequences/{sequence_id}/delete")
async def delete_sequence(
    sequence_id: uuid.UUID, session: SessionDep, member: MemberDep
) -> Response:
    from leadflood.sequences import editing

    await editing.delete_sequence(session, member.workspace_id, sequence_id, by=member)
    return RedirectResponse("/sequences?deleted=1", status_code=303)


@router.post("/sequences/{sequence_id}/test-send", response_class=HTMLResponse)
async def test_send(
    sequence_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    member: MemberDep,
    runtime: RuntimeDep,
) -> Response:
    raw = await request.form()
    if member.user is None:
        problem = "Only a signed-in user can send a test to themselves."
    else:
        try:
            data = TestSendRequest.model_validate(
                {
                    "lead_id": str(raw.get("lead_id") or ""),
                    "step": str(raw.get("step") or "1"),
                    "mailbox_id": str(raw.get("mailbox_id") or ""),
                }
            )
            result = await sample_send.queue_test(
                session, runtime.settings, member.workspace_id, sequence_id, data,
                to=member.user.email, now=datetime.now(UTC),
            )  # fmt: skip
            await sending.kick(session, result.mailbox_id)
        except ValidationError:
            problem = "Choose a lead, a step and an active mailbox for the test."
        except AppError as exc:
            problem = exc.message
        else:
            query = urlencode({"test_sent": result.to, "lead_id": str(data.lead_id)})
            return RedirectResponse(f"/sequences/{sequence_id}?{query}#test", status_code=303)
    return await builder_page(
        request, session, runtime, member.workspace_id, sequence_id, problem=problem, status=422
    )


def routers() -> list[APIRouter]:
    """This feature's pages, in the order they are matched."""
    from leadflood.sequences import enrollment_views, step_views

    return [router, step_views.router, enrollment_views.router]

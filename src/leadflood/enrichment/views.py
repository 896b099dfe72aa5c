"""Settings → Enrichment: the waterfall's order, the fields it fills, the monthly budget and
the email verifier, with this month's spending."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth.principal import CurrentMember
from leadflood.enrichment import config as enrichment_settings
from leadflood.enrichment import credits
from leadflood.enrichment import service as actions
from leadflood.enrichment.schemas import EnrichmentSettingsUpdate
from leadflood.errors import AppError, InvalidInput
from leadflood.leads.fields import ENRICHABLE
from leadflood.leads.lead_views import LABELS, lead_page_response
from leadflood.leads.schemas import BulkRequest
from leadflood.leads.views import filter_from, list_page_response
from leadflood.models import BulkAction
from leadflood.providers.registry import ENRICHERS, VERIFIERS
from leadflood.web import forms
from leadflood.web.deps import AdminDep, MemberDep, SessionDep
from leadflood.web.render import render

router = APIRouter(include_in_schema=False)
SLOTS = len(ENRICHERS)


async def _page(
    request: Request,
    session: SessionDep,
    member: AdminDep,
    *,
    form: dict[str, object] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    config = await enrichment_settings.load(session, member.workspace_id)
    used = await credits.used_this_month(session, member.workspace_id)
    budget = config.monthly_budget
    values = form or {
        "waterfall": config.waterfall,
        "wanted_fields": config.wanted_fields,
        "monthly_budget": "" if budget is None else f"{budget.normalize():f}",
        "verifier": config.verifier,
    }
    return render(
        request,
        "leads/settings_enrichment.html",
        {
            "active": "settings",
            "tab": "enrichment",
            "values": values,
            "errors": errors or {},
            "slots": range(SLOTS),
            "enrichers": ENRICHERS,
            "verifiers": [*VERIFIERS, enrichment_settings.NO_VERIFIER],
            "fields": [(name, LABELS.get(name, name)) for name in ENRICHABLE],
            "configured": await enrichment_settings.configured(
                session, request.app.state.runtime.providers, member.workspace_id
            ),
            "used": used,
            "budget": budget,
            "percent": min(100, int(used * 100 / budget))
            if budget
            else (100 if budget == 0 else 0),
            "saved": request.query_params.get("saved"),
            "sandbox": enrichment_settings.SANDBOX,
        },
        status=status,
    )


@router.get("/settings/enrichment", response_class=HTMLResponse)
async def settings_page(request: Request, session: SessionDep, member: AdminDep) -> Response:
    return await _page(request, session, member)


@router.post("/settings/enrichment", response_class=HTMLResponse)
async def save(request: Request, session: SessionDep, member: AdminDep) -> Response:
    raw = await request.form()
    waterfall = [str(raw.get(f"step_{i}") or "") for i in range(SLOTS)]
    waterfall = [name for name in waterfall if name]
    wanted = [str(v) for v in raw.getlist("wanted_fields")]
    budget_text = str(raw.get("monthly_budget") or "").strip()
    form: dict[str, object] = {
        "waterfall": waterfall,
        "wanted_fields": wanted,
        "monthly_budget": budget_text,
        "verifier": str(raw.get("verifier") or ""),
    }
    errors: dict[str, str] = {}
    budget: Decimal | None = None
    if budget_text:
        try:
            budget = Decimal(budget_text)
        except InvalidOperation:
            errors["monthly_budget"] = "Enter a number of credits, or leave empty for no limit."
    if not wanted:
        errors["wanted_fields"] = "Choose at least one field to fill."
    if not errors:
        try:
            data = EnrichmentSettingsUpdate(
                waterfall=waterfall,
                wanted_fields=wanted,
                monthly_budget=budget,
                verifier=str(form["verifier"]) or None,
            )
            await enrichment_settings.update(session, member.workspace_id, data, by=member)
        except ValidationError as exc:
            errors |= forms.field_errors(exc, key=lambda loc: str(loc[0]))
        except AppError as exc:
            field = exc.details.get("field") if isinstance(exc.details, dict) else None
            errors[str(field or "waterfall")] = exc.message
    if errors:
        return await _page(request, session, member, form=form, errors=errors, status=422)
    return RedirectResponse("/settings/enrichment?saved=1", status_code=303)


RequestJob = Callable[[AsyncSession, uuid.UUID, uuid.UUID], Awaitable[int]]


async def _lead_action(
    request: Request, session: AsyncSession, member: CurrentMember, lead_id: uuid.UUID,
    start: RequestJob, notice: str,
) -> Response:  # fmt: skip
    """The lead page's Enrich and Verify buttons: the job started, or the page again with
    the reason it was refused."""
    try:
        await start(session, member.workspace_id, lead_id)
    except AppError as exc:
        if exc.status == 404:
            raise
        return await lead_page_response(
            request, session, member.workspace_id, lead_id, error=exc.message, status=exc.status
        )
    return RedirectResponse(f"/leads/{lead_id}?notice={notice}", status_code=303)


@router.post("/leads/{lead_id:uuid}/enrich", response_class=HTMLResponse)
async def enrich(
    lead_id: uuid.UUID, request: Request, session: SessionDep, member: MemberDep
) -> Response:
    return await _lead_action(
        request, session, member, lead_id, actions.request_enrich, "enriching"
    )


@router.post("/leads/{lead_id:uuid}/verify", response_class=HTMLResponse)
async def verify(
    lead_id: uuid.UUID, request: Request, session: SessionDep, member: MemberDep
) -> Response:
    return await _lead_action(
        request, session, member, lead_id, actions.request_verify, "verifying"
    )


@router.post("/leads/bulk", response_class=HTMLResponse)
async def bulk_action(request: Request, session: SessionDep, member: MemberDep) -> Response:
    """The list's bulk bar: enrich or verify the rows ticked, or every lead matching the
    filter the page shows (a plain form: works without JavaScript)."""
    raw = await request.form()
    action, _, scope = str(raw.get("do") or "").partition(":")
    values = {k: str(v) for k, v in raw.items() if isinstance(v, str)}
    where, applied = filter_from(values)
    try:
        if action not in ("enrich", "verify"):
            raise InvalidInput("Choose enrich or verify.")
        if scope == "filter":
            request_body = BulkRequest(filter=where)
        else:
            picked = [str(v) for v in raw.getlist("lead_ids") if isinstance(v, str)]
            if not picked:
                raise InvalidInput("Tick at least one lead, or choose all matching leads.")
            request_body = BulkRequest.model_validate({"lead_ids": picked})
        operation = await actions.start_bulk(
            session,
            member.workspace_id,
            BulkAction(action),
            request_body,
            user_id=member.user.id if member.user else None,
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
    back = urlencode({**applied, "bulk": str(operation.id)})
    return RedirectResponse(f"/leads?{back}", status_code=303)


def routers() -> list[APIRouter]:
    """This feature's pages, in the order they are matched."""
    return [router]

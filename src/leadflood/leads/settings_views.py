"""Settings → Enrichment: the waterfall's order, the fields it fills, the monthly budget and
the email verifier, with this month's spending."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from leadflood.deps import AdminDep, SessionDep
from leadflood.errors import AppError
from leadflood.leads import credits, enrichment_settings
from leadflood.leads.enrichment_schemas import EnrichmentSettingsUpdate
from leadflood.leads.fields import ENRICHABLE
from leadflood.leads.lead_views import LABELS
from leadflood.providers.registry import ENRICHERS, VERIFIERS
from leadflood.schemas import human_message
from leadflood.ui.render import render

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
    if not waterfall:
        errors["waterfall"] = "Choose at least one enricher."
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
            await enrichment_settings.update(session, member.workspace_id, data)
        except ValidationError as exc:
            for err in exc.errors():
                errors[str(err["loc"][0])] = human_message(err)
        except AppError as exc:
            field = exc.details.get("field") if isinstance(exc.details, dict) else None
            errors[str(field or "waterfall")] = exc.message
    if errors:
        return await _page(request, session, member, form=form, errors=errors, status=422)
    return RedirectResponse("/settings/enrichment?saved=1", status_code=303)

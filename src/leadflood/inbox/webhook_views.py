"""Settings → Inbound: each provider feed's webhook URL to paste into the provider (with a copy
button), how its requests are checked, the counts of accepted and refused requests, and (for
admins) the form that sets the signing secret, public key or basic-auth credentials."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from leadflood.errors import AppError
from leadflood.inbox import reclassify, webhooks
from leadflood.inbox.rules import RULES_VERSION
from leadflood.inbox.webhook_schemas import EndpointUpdate
from leadflood.web import forms
from leadflood.web.deps import AdminDep, SessionDep, ViewerDep
from leadflood.web.render import render

router = APIRouter(include_in_schema=False)
FIELDS = {
    "basic": ("username", "password"),
    "svix": ("signing_secret",),
    "ecdsa": ("public_key",),
}

# The settings page counts stale messages up to this many: "more than 10,000" is enough to
# decide, and a larger count would read every one of them on each view.
STALE_SHOWN = 10_000


async def _page(
    request: Request,
    session: SessionDep,
    workspace_id: uuid.UUID,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    status: int = 200,
) -> HTMLResponse:
    runtime = request.app.state.runtime
    endpoints = await webhooks.list_all(session, workspace_id, runtime.settings.public_url)
    stale = await reclassify.count_stale(session, workspace_id, cap=STALE_SHOWN)
    return render(
        request,
        "settings/inbound.html",
        {
            "active": "settings",
            "tab": "inbound",
            "endpoints": endpoints,
            "errors": errors or {},
            "saved": request.query_params.get("saved"),
            "rules_version": RULES_VERSION,
            "stale": stale,
            "stale_cap": STALE_SHOWN,
            "reclassify": request.query_params.get("reclassify"),
        },
        status=status,
    )


@router.get("/settings/inbound", response_class=HTMLResponse)
async def inbound_page(request: Request, session: SessionDep, member: ViewerDep) -> Response:
    return await _page(request, session, member.workspace_id)


@router.post("/settings/inbound/reclassify", response_class=HTMLResponse)
async def reclassify_mail(session: SessionDep, member: AdminDep) -> Response:
    """Classify the stored mail again with the current rules, on the workers."""
    try:
        await reclassify.start(session, member.workspace_id)
    except reclassify.AlreadyReclassifying:
        return RedirectResponse("/settings/inbound?reclassify=waiting", status_code=303)
    return RedirectResponse("/settings/inbound?reclassify=queued", status_code=303)


@router.post("/settings/inbound/{kind}", response_class=HTMLResponse)
async def save(kind: str, request: Request, session: SessionDep, member: AdminDep) -> Response:
    feed = webhooks.FEEDS.get(kind)
    if feed is None:
        return await _page(
            request, session, member.workspace_id,
            errors={kind: {"form": "No such provider feed."}}, status=404,
        )  # fmt: skip
    raw = await request.form()
    values: dict[str, object] = {}
    for name in FIELDS[feed.auth]:
        text = str(raw.get(name) or "").strip()
        if text:  # left empty: unchanged (secrets are never shown, so never pre-filled)
            values[name] = text
    if raw.get("rotate_token"):
        values["rotate_token"] = True
    try:
        await webhooks.configure(session, member, kind, EndpointUpdate.model_validate(values))
    except ValidationError as exc:
        found = forms.field_errors(exc, key=lambda loc: str(loc[0]))
        return await _page(request, session, member.workspace_id, errors={kind: found}, status=422)
    except AppError as exc:
        field = exc.details.get("field") if isinstance(exc.details, dict) else None
        return await _page(
            request, session, member.workspace_id,
            errors={kind: {str(field or "form"): exc.message}}, status=exc.status,
        )  # fmt: skip
    return RedirectResponse(f"/settings/inbound?saved={kind}", status_code=303)


def routers() -> list[APIRouter]:
    """This feature's pages, in the order they are matched."""
    return [router]

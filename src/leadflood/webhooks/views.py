"""Settings → Webhooks: the workspace's endpoints (a banner for those disabled after failures),
the form that adds one (its secret shown once, on the answer page), and each endpoint's
delivery log with its attempts, a redeliver button and a test ping."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from leadflood import events
from leadflood.errors import AppError
from leadflood.web import forms
from leadflood.web.deps import AdminDep, RuntimeDep, SessionDep, ViewerDep
from leadflood.web.render import render
from leadflood.webhooks import service
from leadflood.webhooks.schemas import EndpointCreate, EndpointUpdate

router = APIRouter(include_in_schema=False)


async def _list_page(
    request: Request,
    session: SessionDep,
    workspace_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    created: Any = None,
    secret: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    endpoints = await service.list_all(session, workspace_id)
    return render(
        request,
        "settings/webhooks.html",
        {
            "active": "settings",
            "tab": "webhooks",
            "endpoints": endpoints,
            "event_types": events.EVENT_TYPES,
            "errors": errors or {},
            "values": values or {"events": []},
            "created": created,
            "secret": secret,
            "notice": request.query_params.get("notice"),
        },
        status=status,
    )


@router.get("/settings/webhooks", response_class=HTMLResponse)
async def webhooks_page(request: Request, session: SessionDep, member: ViewerDep) -> Response:
    return await _list_page(request, session, member.workspace_id)


@router.post("/settings/webhooks", response_class=HTMLResponse)
async def create(
    request: Request, session: SessionDep, member: AdminDep, runtime: RuntimeDep
) -> Response:
    raw = await request.form()
    values = {
        "url": str(raw.get("url") or ""),
        "events": [str(v) for v in raw.getlist("events")],
        "description": str(raw.get("description") or "") or None,
    }
    try:
        endpoint, secret = await service.create(
            session, member, EndpointCreate.model_validate(values),
            runtime.settings.webhook_networks,
        )  # fmt: skip
    except ValidationError as exc:
        found = forms.field_errors(exc, key=lambda loc: str(loc[0]))
        if "events" in found:
            found["events"] = "Choose at least one event."
        return await _list_page(
            request, session, member.workspace_id, errors=found, values=values, status=422
        )
    except AppError as exc:
        field = exc.details.get("field") if isinstance(exc.details, dict) else None
        return await _list_page(
            request, session, member.workspace_id, errors={str(field or "form"): exc.message},
            values=values, status=exc.status,
        )  # fmt: skip
    # Rendered, not redirected: the secret must not land in a URL or the history.
    return await _list_page(
        request, session, member.workspace_id, created=endpoint, secret=secret, status=201
    )


@router.get("/settings/webhooks/{endpoint_id}", response_class=HTMLResponse)
async def endpoint_page(
    endpoint_id: uuid.UUID, request: Request, session: SessionDep, member: ViewerDep
) -> Response:
    endpoint = await service.get(session, member.workspace_id, endpoint_id)
    cursor = request.query_params.get("cursor") or None
    window = await service.deliveries(
        session, member.workspace_id, endpoint_id, limit=50, cursor=cursor
    )
    attempts = await service.attempts_of(session, [d.id for d in window.items])
    return render(
        request,
        "settings/webhook.html",
        {
            "active": "settings",
            "tab": "webhooks",
            "endpoint": endpoint,
            "page": window,
            "cursor": cursor,
            "attempts": attempts,
            "notice": request.query_params.get("notice"),
        },
    )


def _back(endpoint_id: uuid.UUID, notice: str) -> RedirectResponse:
    return RedirectResponse(f"/settings/webhooks/{endpoint_id}?notice={notice}", status_code=303)


@router.post("/settings/webhooks/{endpoint_id}/test")
async def test(endpoint_id: uuid.UUID, session: SessionDep, member: AdminDep) -> Response:
    await service.ping(session, member, endpoint_id)
    return _back(endpoint_id, "ping")


@router.post("/settings/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver")
async def redeliver(
    endpoint_id: uuid.UUID, delivery_id: uuid.UUID, session: SessionDep, member: AdminDep
) -> Response:
    await service.redeliver(session, member, endpoint_id, delivery_id)
    return _back(endpoint_id, "redelivered")


@router.post("/settings/webhooks/{endpoint_id}/enable")
async def enable(endpoint_id: uuid.UUID, session: SessionDep, member: AdminDep) -> Response:
    await service.update_endpoint(session, member, endpoint_id, EndpointUpdate(enabled=True))
    return _back(endpoint_id, "enabled")


@router.post("/settings/webhooks/{endpoint_id}/disable")
async def disable(endpoint_id: uuid.UUID, session: SessionDep, member: AdminDep) -> Response:
    await service.update_endpoint(session, member, endpoint_id, EndpointUpdate(enabled=False))
    return _back(endpoint_id, "disabled")


@router.post("/settings/webhooks/{endpoint_id}/delete")
async def delete(endpoint_id: uuid.UUID, session: SessionDep, member: AdminDep) -> Response:
    await service.delete(session, member, endpoint_id)
    return RedirectResponse("/settings/webhooks?notice=deleted", status_code=303)


def routers() -> list[APIRouter]:
    return [router]

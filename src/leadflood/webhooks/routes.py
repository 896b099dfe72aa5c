"""Outbound webhooks: endpoints that receive a signed POST (Standard Webhooks) for each
subscribed event, and the log of their deliveries. Admins change them; viewers read them."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from leadflood.models import WebhookDelivery
from leadflood.pagination import Page
from leadflood.web.deps import AdminDep, RuntimeDep, SessionDep, ViewerDep
from leadflood.web.idempotency import Idempotent
from leadflood.webhooks import service
from leadflood.webhooks.schemas import (
    AttemptRead,
    DeliveryRead,
    EndpointCreate,
    EndpointRead,
    EndpointUpdate,
    EndpointWithSecret,
)

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


def _with_secret(endpoint: object, secret: str) -> EndpointWithSecret:
    return EndpointWithSecret.model_validate(
        {**EndpointRead.model_validate(endpoint).model_dump(), "secret": secret}
    )


@router.post("", response_model=EndpointWithSecret, status_code=201, dependencies=[Idempotent])
async def create_endpoint(
    data: EndpointCreate, member: AdminDep, session: SessionDep, runtime: RuntimeDep
) -> EndpointWithSecret:
    """Subscribes `url` to `events` (`webhook_event_unknown` lists the allowed ones; a
    loopback or private address is `webhook_url_invalid`). The answer holds the signing
    `secret` (`whsec_…`): store it now, it is never shown again."""
    allowed = runtime.settings.webhook_networks
    endpoint, secret = await service.create(session, member, data, allowed)
    return _with_secret(endpoint, secret)


@router.get("", response_model=list[EndpointRead])
async def list_endpoints(member: ViewerDep, session: SessionDep) -> list[EndpointRead]:
    rows = await service.list_all(session, member.workspace_id)
    return [EndpointRead.model_validate(row) for row in rows]


@router.get("/{endpoint_id}", response_model=EndpointRead)
async def get_endpoint(
    endpoint_id: uuid.UUID, member: ViewerDep, session: SessionDep
) -> EndpointRead:
    return EndpointRead.model_validate(await service.get(session, member.workspace_id, endpoint_id))


@router.patch("/{endpoint_id}", response_model=EndpointWithSecret | EndpointRead)
async def update_endpoint(
    endpoint_id: uuid.UUID,
    data: EndpointUpdate,
    member: AdminDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> EndpointRead:
    """Changes what is given; `enabled: true` re-enables an endpoint disabled after failures;
    `rotate_secret: true` answers with the new `secret` (shown once)."""
    allowed = runtime.settings.webhook_networks
    endpoint, secret = await service.update_endpoint(session, member, endpoint_id, data, allowed)
    if secret is not None:
        return _with_secret(endpoint, secret)
    return EndpointRead.model_validate(endpoint)


@router.delete("/{endpoint_id}", status_code=204)
async def delete_endpoint(
    endpoint_id: uuid.UUID, member: AdminDep, session: SessionDep
) -> Response:
    """Removes the endpoint, its secret and its delivery log."""
    await service.delete(session, member, endpoint_id)
    return Response(status_code=204)


async def _read(session: SessionDep, rows: list[WebhookDelivery]) -> list[DeliveryRead]:
    attempts = await service.attempts_of(session, [row.id for row in rows])
    return [
        DeliveryRead.model_validate(row).model_copy(
            update={"attempt_log": [AttemptRead.model_validate(a) for a in attempts[row.id]]}
        )
        for row in rows
    ]


@router.get("/{endpoint_id}/deliveries", response_model=Page[DeliveryRead])
async def list_deliveries(
    endpoint_id: uuid.UUID,
    member: ViewerDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
    state: Literal["pending", "succeeded", "failed"] | None = None,
) -> Page[DeliveryRead]:
    """Newest first, each with its attempts (time, status code, response excerpt, duration,
    error)."""
    window = await service.deliveries(
        session, member.workspace_id, endpoint_id, limit=limit, cursor=cursor, state=state
    )
    return Page[DeliveryRead](
        items=await _read(session, window.items),
        next_cursor=window.next_cursor,
        prev_cursor=window.prev_cursor,
    )


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    response_model=DeliveryRead,
    status_code=202,
    dependencies=[Idempotent],
)
async def redeliver(
    endpoint_id: uuid.UUID, delivery_id: uuid.UUID, member: AdminDep, session: SessionDep
) -> DeliveryRead:
    """Sends the same message again (same body and `webhook-id`) as a new delivery, due now.
    A disabled endpoint is `webhook_endpoint_disabled` (409)."""
    copy = await service.redeliver(session, member, endpoint_id, delivery_id)
    return (await _read(session, [copy]))[0]


@router.post(
    "/{endpoint_id}/test", response_model=DeliveryRead, status_code=202, dependencies=[Idempotent]
)
async def test_endpoint(
    endpoint_id: uuid.UUID, member: AdminDep, session: SessionDep
) -> DeliveryRead:
    """Sends a signed `webhook.ping` event to the endpoint within seconds."""
    delivery = await service.ping(session, member, endpoint_id)
    return (await _read(session, [delivery]))[0]


def routers() -> list[APIRouter]:
    return [router]

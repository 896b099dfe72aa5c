"""Provider webhooks: the URLs the providers post to (public: each request is checked the
provider's way, see `inbox.webhooks`) and the endpoints' settings (admins set them; viewers see
the URLs and counts)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from leadflood.inbox import webhooks
from leadflood.inbox.webhook_schemas import EndpointRead, EndpointUpdate, Kind, WebhookReceipt
from leadflood.web.deps import AdminDep, RuntimeDep, SessionDep, ViewerDep

settings_router = APIRouter(prefix="/v1/inbound/endpoints", tags=["inbound webhooks"])
receive_router = APIRouter(prefix="/v1/inbound", tags=["inbound webhooks"])


@settings_router.get("", response_model=list[EndpointRead])
async def list_endpoints(
    member: ViewerDep, session: SessionDep, runtime: RuntimeDep
) -> list[EndpointRead]:
    """Every provider feed with its URL (null until created), how it is checked, whether that
    is configured, and the counts of accepted and refused requests."""
    return await webhooks.list_all(session, member.workspace_id, runtime.settings.public_url)


@settings_router.get("/{kind}", response_model=EndpointRead)
async def get_endpoint(
    kind: Kind, member: ViewerDep, session: SessionDep, runtime: RuntimeDep
) -> EndpointRead:
    return await webhooks.get(session, member.workspace_id, kind, runtime.settings.public_url)


@settings_router.put("/{kind}", response_model=EndpointRead)
async def put_endpoint(
    kind: Kind, data: EndpointUpdate, member: AdminDep, session: SessionDep, runtime: RuntimeDep
) -> EndpointRead:
    """Creates the endpoint (its URL gets an unguessable token) or changes how its requests
    are checked: Postmark `username` + `password` (basic auth), Resend `signing_secret`,
    SendGrid `public_key`. Secrets are stored encrypted and never returned. Until they are
    set, every request to the URL is refused (`webhook_not_configured`)."""
    endpoint = await webhooks.configure(session, member, kind, data)
    return webhooks.read(endpoint, kind, runtime.settings.public_url)


@settings_router.delete("/{kind}", status_code=204)
async def delete_endpoint(kind: Kind, member: AdminDep, session: SessionDep) -> Response:
    """Removes the endpoint: its URL is refused from now on; what it received stays."""
    await webhooks.delete(session, member, kind)
    return Response(status_code=204)


@receive_router.post("/{kind}/{token}", response_model=WebhookReceipt)
async def receive(kind: Kind, token: str, request: Request, session: SessionDep) -> WebhookReceipt:
    """A provider's webhook. 401 unless the request passes the provider's check
    (`webhook_unknown_endpoint`, `webhook_not_configured`, `webhook_unsigned`,
    `webhook_signature_invalid`, `webhook_signature_stale`), counted on the endpoint; 422
    `webhook_payload_invalid` for a signed body that is not what the provider sends (kept).
    Otherwise each event is stored once, processed, and the answer is 200."""
    body = await request.body()
    headers = {name.lower(): value for name, value in request.headers.items()}
    return await webhooks.receive(session, kind, token, headers, body)


def routers() -> list[APIRouter]:
    """In the order they are matched: the settings' paths before `/{kind}/{token}`."""
    return [settings_router, receive_router]

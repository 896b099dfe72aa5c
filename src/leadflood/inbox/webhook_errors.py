"""The provider webhooks' errors. A refused request answers 401 with its reason's code and is
counted on its endpoint: the count is committed although the request fails."""

from __future__ import annotations

from leadflood.errors import AppError, InvalidInput, NotFound


class EndpointNotFound(NotFound):
    code = "inbound_endpoint_not_found"
    message = "This workspace has no webhook endpoint for that provider yet; create it with PUT."


class EndpointInvalid(InvalidInput):
    code = "inbound_endpoint_invalid"
    message = "The endpoint's settings are not valid."


class WebhookRefused(AppError):
    status = 401
    code = "webhook_refused"
    message = "The request is not proven to come from the provider."
    keep_changes = True


class UnknownEndpoint(WebhookRefused):
    code = "webhook_unknown_endpoint"
    message = "No webhook endpoint has this URL."


class NotConfigured(WebhookRefused):
    code = "webhook_not_configured"
    message = (
        "This endpoint has no signing secret, public key or credentials yet: set them under "
        "Settings → Inbound before the provider sends to it."
    )


class Unsigned(WebhookRefused):
    code = "webhook_unsigned"
    message = "The request carries no signature or credentials."


class SignatureInvalid(WebhookRefused):
    code = "webhook_signature_invalid"
    message = "The request's signature or credentials do not match."


class SignatureStale(WebhookRefused):
    code = "webhook_signature_stale"
    message = "The request's signature is too old (or from the future): more than 5 minutes."


class PayloadInvalid(InvalidInput):
    """Signed, but not what the provider sends: kept (raw) for inspection, answered 422."""

    code = "webhook_payload_invalid"
    message = "The request is signed but its body is not what this provider sends."
    keep_changes = True

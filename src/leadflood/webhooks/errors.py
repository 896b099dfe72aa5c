from __future__ import annotations

from leadflood.errors import Conflict, InvalidInput, NotFound


class EndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"
    message = "No webhook endpoint with this id in this workspace."


class DeliveryNotFound(NotFound):
    code = "webhook_delivery_not_found"
    message = "No delivery with this id for this webhook endpoint."


class UrlInvalid(InvalidInput):
    code = "webhook_url_invalid"
    message = "The URL must be http(s) with a public host name or address."


class EventTypeUnknown(InvalidInput):
    code = "webhook_event_unknown"
    message = "Unknown event type."


class EndpointDisabled(Conflict):
    code = "webhook_endpoint_disabled"
    message = "The endpoint is disabled: enable it before sending to it."

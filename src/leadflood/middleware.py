"""Pure ASGI middleware: request ids, access logs and Prometheus metrics."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadflood.logging import bind_context, clear_context, get_logger

REQUESTS = Counter("leadflood_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("leadflood_http_request_seconds", "HTTP request latency", ["method", "route"])
_VALID_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
log = get_logger("leadflood.http")


class RequestContext:
    """Keeps an incoming `x-request-id` (or makes one), binds it to every log line of the
    request, echoes it on the response, and measures the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        clear_context()
        bind_context(request_id=request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers: list[Any] = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - started
            REQUESTS.labels(scope["method"], path, str(status)).inc()
            LATENCY.labels(scope["method"], path).observe(elapsed)
            log.info(
                "http.request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                ms=round(elapsed * 1000, 1),
            )
            clear_context()

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


def _settings_of(scope: Scope) -> Any:
    return scope["app"].state.runtime.settings


_NO_COOKIE_PATHS = ("/v1/", "/static/", "/metrics", "/health", "/ready", "/openapi", "/docs")


class CsrfCookie:
    """Gives every browser page a CSRF cookie and puts the matching form token in
    `request.state.ui["csrf_token"]`, which every template receives."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_NO_COOKIE_PATHS):
            await self.app(scope, receive, send)
            return
        from starlette.requests import cookie_parser

        from leadflood.auth import csrf

        settings = _settings_of(scope)
        raw = dict(scope["headers"]).get(b"cookie", b"").decode("latin-1")
        value = cookie_parser(raw).get(csrf.COOKIE)
        fresh = not csrf.valid_cookie(value)
        if fresh:
            value = csrf.new_cookie()
        assert value is not None
        state = scope.setdefault("state", {})
        state.setdefault("ui", {})["csrf_token"] = csrf.token_for(settings, value)
        secure = "; Secure" if settings.secure_cookies else ""
        cookie = f"{csrf.COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax{secure}"

        async def send_with_cookie(message: Message) -> None:
            if fresh and message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
            await send(message)

        await self.app(scope, receive, send_with_cookie)


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# The interactive API docs load their script from a CDN; only that page gets a wider policy.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "frame-ancestors 'none'"
)


class SecurityHeaders:
    """CSP without inline script, frame denial, no-sniff and a strict referrer policy on every
    response (HSTS too when the public URL is https)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"] == "/docs" else CSP
        https = _settings_of(scope).public_url.startswith("https://")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() != b"content-security-policy"
                ]
                headers += [
                    (b"content-security-policy", csp.encode()),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"strict-origin-when-cross-origin"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
                ]
                if https:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


_NUL_MARKERS = (b"\x00", b"\\u0000", b"%00")


class BodyLimit:
    """413 with the error contract for a body over MAX_REQUEST_BYTES (MAX_UPLOAD_BYTES for
    multipart uploads), whether or not it announces its length; 422 for text carrying NUL
    characters (PostgreSQL cannot store them), in the URL or in a JSON or form body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = _settings_of(scope)
        headers = dict(scope["headers"])
        multipart = headers.get(b"content-type", b"").startswith(b"multipart/form-data")
        limit = settings.max_upload_bytes if multipart else settings.max_request_bytes
        url = scope.get("raw_path", b"") + b"?" + scope.get("query_string", b"")
        if b"%00" in url.lower() or b"\x00" in url:
            await self._reject(
                scope, receive, send, 422, "invalid_text", "Text cannot contain NUL characters."
            )
            return
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._too_large(scope, receive, send, limit)
            return
        if scope["method"] in {"GET", "HEAD", "OPTIONS"} or (multipart and declared is not None):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                await self._too_large(scope, receive, send, limit)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if not multipart and any(marker in body for marker in _NUL_MARKERS):
            await self._reject(
                scope, receive, send, 422, "invalid_text", "Text cannot contain NUL characters."
            )
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        message = f"The request body is larger than {limit} bytes."
        await self._reject(
            scope, receive, send, 413, "payload_too_large", message, {"limit": limit}
        )

    async def _reject(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        code: str,
        message: str,
        details: Any = None,
    ) -> None:
        from starlette.requests import Request

        from leadflood.web.error_handlers import respond

        response = respond(Request(scope), status, code, message, details)
        await response(scope, receive, send)


class Cors:
    """CORS for the origins in CORS_ORIGINS only (none by default), read at the first request
    so the app can be built before its settings are known."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._inner: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._inner is None:
            from starlette.middleware.cors import CORSMiddleware

            origins = _settings_of(scope).cors_origins
            self._inner = (
                CORSMiddleware(
                    self.app,
                    allow_origins=origins,
                    allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                    allow_headers=[
                        "authorization",
                        "content-type",
                        "x-api-key",
                        "x-workspace-id",
                        "x-request-id",
                    ],
                    expose_headers=["x-request-id", "retry-after"],
                    max_age=600,
                )
                if origins
                else self.app
            )
        await self._inner(scope, receive, send)


class NoStore:
    """Responses to a signed-in request (a session cookie, an API key or a bearer token) are
    never kept by a browser or a shared cache: `Cache-Control: no-store`, unless the route set
    its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _signed_in(scope):
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)


def _signed_in(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name in (b"authorization", b"x-api-key"):
            return True
        if name == b"cookie" and b"lf_session=" in value:
            return True
    return False

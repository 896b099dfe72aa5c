"""One error contract for every failure: `{"error": {"code", "message", "details",
"request_id"}}` for the JSON API, a friendly page for the browser."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadflood import telemetry
from leadflood.errors import AppError
from leadflood.logging import get_logger
from leadflood.providers.base import ProviderNotConfiguredError

log = get_logger("leadflood.errors")

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None
    request_id: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


# Documented on every API route, so the OpenAPI file describes every answer a client can get.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        400: "Bad request",
        401: "Not signed in, or the token or key is not valid",
        403: "The role does not allow this (or the CSRF token is missing)",
        404: "Not found in this workspace",
        409: "Conflicts with the current state",
        410: "Gone (a used or expired link)",
        413: "The request body is too large",
        422: "The request is not valid",
        429: "Too many requests; see Retry-After",
    }.items()
}


def error_body(request: Request, code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "details": details,
            "request_id": request.scope.get("state", {}).get("request_id"),
        }
    }


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/v1", "/health", "/ready", "/metrics", "/openapi")):
        return False
    return "text/html" in request.headers.get("accept", "")


def respond(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = error_body(request, code, message, details)
    if status == 401 and _wants_html(request):
        # A browser that is not signed in goes to the sign-in page, then back here.
        from urllib.parse import quote

        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    if _wants_html(request):
        from leadflood.web.render import render_error

        return render_error(
            request, status, body["error"], headers=dict(headers) if headers else None
        )
    return JSONResponse(body, status_code=status, headers=dict(headers) if headers else None)


async def _chrome(request: Request) -> None:
    """An error page for a signed-in user keeps the app around it (sidebar, workspace)."""
    if _wants_html(request):
        from leadflood.web.deps import page_chrome

        await page_chrome(request)


def install(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        await _chrome(request)
        headers = None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            headers = {"Retry-After": str(int(retry_after))}
        return respond(request, exc.status, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(ProviderNotConfiguredError)
    async def provider_missing(request: Request, exc: ProviderNotConfiguredError) -> Response:
        await _chrome(request)
        return respond(
            request, 503, "provider_not_configured", str(exc), {"provider": exc.provider}
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        details = [
            {
                "field": ".".join(str(part) for part in err["loc"] if part != "body"),
                "message": err["msg"],
                "type": err["type"],
            }
            for err in exc.errors()
        ]
        return respond(request, 422, "validation_error", "The request is not valid.", details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        await _chrome(request)
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return respond(request, exc.status_code, code, str(exc.detail), None, exc.headers)


class CatchAll:
    """Turns an unhandled exception into the error contract inside the request-id middleware
    (Starlette's own last-resort handler sits outside every middleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log.exception("http.unhandled", error=str(exc))
            telemetry.report(exc)
            if started:
                raise
            response = respond(
                Request(scope),
                500,
                "internal_error",
                "Something went wrong on our side; the request id helps find it in the logs.",
            )
            await response(scope, receive, send)

"""The Jinja environment for every HTML page, and the helpers views use to render."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from leadflood import __version__

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES))

NAV = [
    ("leads", "Leads", "/leads"),
    ("lists", "Lists", "/lists"),
    ("companies", "Companies", "/companies"),
    ("icps", "ICPs", "/icps"),
    ("sequences", "Sequences", "/sequences"),
    ("inbox", "Inbox", "/inbox"),
    ("outbox", "Outbox", "/outbox"),
    ("analytics", "Analytics", None),
    ("settings", "Settings", "/settings"),
]


def _ago(value: datetime | None) -> str:
    if value is None:
        return "—"
    seconds = int((datetime.now(value.tzinfo) - value).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return value.strftime("%d %b %Y")


templates.env.filters["ago"] = _ago
templates.env.globals["version"] = __version__
templates.env.globals["nav"] = NAV


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    ctx: dict[str, Any] = {"request": request, **(getattr(request.state, "ui", {}) or {})}
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is not None and ctx.get("current_workspace") is not None:
        # Signed-in pages always say when TEST_MODE redirects every outbound message.
        ctx["test_mode"] = runtime.settings.test_mode
    ctx.update(context or {})
    return templates.TemplateResponse(request, template, ctx, status_code=status, headers=headers)


def render_error(
    request: Request, status: int, error: dict[str, Any], *, headers: dict[str, str] | None = None
) -> HTMLResponse:
    return render(
        request, "error.html", {"status": status, "error": error}, status=status, headers=headers
    )

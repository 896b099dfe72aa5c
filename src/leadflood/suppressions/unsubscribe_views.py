"""The recipient's unsubscribe page. Public (the token is the credential) and outside the CSRF
check on purpose: RFC 8058 one-click POSTs come from mail providers, which cannot carry a form
token. Nothing else lives here; an unsubscribe is harmless to replay and needs the secret token.

GET never unsubscribes (mail scanners follow links); POST does, at once. A link that is not
valid gets a page of its own too: a prospect never sees the app's pages (its 404 has the
sidebar and links into the app)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from leadflood.models import Workspace
from leadflood.suppressions import unsubscribe
from leadflood.web.deps import SessionDep
from leadflood.web.render import render

router = APIRouter(include_in_schema=False)
INVALID_STATUS = 404


def _masked(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:2]}{'•' * max(1, len(local) - 2)}@{domain}"


async def _page(
    request: Request, session: SessionDep, token: str, *, done: bool, status: int = 200
) -> HTMLResponse:
    row = await unsubscribe.find(session, token)
    workspace = await session.get(Workspace, row.workspace_id)
    return render(
        request,
        "sending/unsubscribe.html",
        {
            "token": token,
            "email": _masked(row.email),
            "sender": workspace.name if workspace else "this sender",
            "done": done or row.used_at is not None,
        },
        status=status,
    )


def _invalid_page(request: Request) -> HTMLResponse:
    return render(request, "sending/unsubscribe_invalid.html", status=INVALID_STATUS)


def _from_a_browser(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


@router.get("/u/{token:path}", response_class=HTMLResponse)
async def confirm_page(request: Request, token: str, session: SessionDep) -> HTMLResponse:
    try:
        return await _page(request, session, token, done=False)
    except unsubscribe.UnsubscribeLinkNotFound:
        return _invalid_page(request)


@router.post("/u/{token:path}", response_class=HTMLResponse)
async def one_click(request: Request, token: str, session: SessionDep) -> Response:
    """Both the page's button and RFC 8058 (`List-Unsubscribe=One-Click` body) land here. A
    mail provider's one-click POST with a bad token keeps the JSON error contract (404
    `unsubscribe_link_not_found`); a person's browser gets the standalone page."""
    try:
        await unsubscribe.unsubscribe(session, token, source="one_click")
    except unsubscribe.UnsubscribeLinkNotFound:
        if _from_a_browser(request):
            return _invalid_page(request)
        raise
    return await _page(request, session, token, done=True)

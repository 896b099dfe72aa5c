"""The recipient's unsubscribe page. Public (the token is the credential) and outside the CSRF
check on purpose: RFC 8058 one-click POSTs come from mail providers, which cannot carry a form
token. Nothing else lives here; an unsubscribe is harmless to replay and needs the secret token.

GET never unsubscribes (mail scanners follow links); POST does, at once."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from leadflood.deps import SessionDep
from leadflood.models import Workspace
from leadflood.sending import unsubscribe
from leadflood.ui.render import render

router = APIRouter(include_in_schema=False)


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


@router.get("/u/{token}", response_class=HTMLResponse)
async def confirm_page(request: Request, token: str, session: SessionDep) -> HTMLResponse:
    return await _page(request, session, token, done=False)


@router.post("/u/{token}", response_class=HTMLResponse)
async def one_click(request: Request, token: str, session: SessionDep) -> HTMLResponse:
    """Both the page's button and RFC 8058 (`List-Unsubscribe=One-Click` body) land here."""
    await unsubscribe.unsubscribe(session, token, source="one_click")
    return await _page(request, session, token, done=True)

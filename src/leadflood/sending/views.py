from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from leadflood.models import Mailbox, MessageStatus
from leadflood.pagination import DEFAULT_PAGE_SIZE
from leadflood.sending import catcher_store, outbox
from leadflood.sending import service as sending
from leadflood.web.deps import MemberDep, RuntimeDep, SessionDep
from leadflood.web.render import render

router = APIRouter(include_in_schema=False)
STATUS_TABS = ("queued", "sending", "sent", "unconfirmed", "bounced", "failed", "cancelled")


@router.get("/outbox", response_class=HTMLResponse)
async def outbox_page(
    request: Request, member: MemberDep, session: SessionDep, runtime: RuntimeDep
) -> HTMLResponse:
    params = request.query_params
    status = params.get("status") if params.get("status") in STATUS_TABS else None
    cursor = params.get("cursor") or None
    page = await outbox.list_messages(
        session,
        member.workspace_id,
        limit=DEFAULT_PAGE_SIZE,
        cursor=cursor,
        status=MessageStatus(status) if status else None,
    )
    counts = await outbox.counts_by_status(session, member.workspace_id)
    return render(
        request,
        "sending/outbox.html",
        {
            "active": "outbox",
            "messages": page.items,
            "counts": counts,
            "total": sum(counts.values()),
            "tabs": STATUS_TABS,
            "status_filter": status,
            "cursor": cursor,
            "page": page,
            "test_mode": runtime.settings.test_mode,
            "test_recipients": runtime.settings.test_recipients,
            "public_url": runtime.settings.public_url,
            "public_https": runtime.settings.public_url.lower().startswith("https://"),
        },
    )


@router.get("/outbox/{message_id}", response_class=HTMLResponse)
async def message_page(
    request: Request,
    message_id: uuid.UUID,
    member: MemberDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> HTMLResponse:
    message, attempts = await outbox.get_message(session, member.workspace_id, message_id)
    caught = message.message_id is not None and catcher_store.has(
        catcher_store.demo_inbox(runtime.settings), message.message_id
    )
    mailbox = await session.get(Mailbox, message.mailbox_id) if message.mailbox_id else None
    return render(
        request,
        "sending/message.html",
        {
            "active": "outbox",
            "message": message,
            "attempts": attempts,
            "caught": caught,
            "from_name": mailbox.from_name if mailbox is not None else None,
            "test_mode": runtime.settings.test_mode,
            "test_recipients": runtime.settings.test_recipients,
        },
    )


@router.post("/outbox/{message_id}/requeue")
async def requeue_message(
    message_id: uuid.UUID, member: MemberDep, session: SessionDep
) -> RedirectResponse:
    await sending.requeue(
        session, member.workspace_id, message_id, by=member, now=datetime.now(UTC)
    )
    return RedirectResponse(f"/outbox/{message_id}?requeued=1", status_code=303)


def routers() -> list[APIRouter]:
    """This feature's pages, in the order they are matched."""
    return [router]

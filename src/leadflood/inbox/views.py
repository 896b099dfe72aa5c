"""The Inbox pages: threads of every mailbox with their filters, and one thread with its whole
history, the lead card, a reply form and the moves a person makes (assign, done, unread,
correct a label). The list's filters travel with the thread page, so next/previous (j/k)
walk the same list."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, select

from leadflood.db.scope import in_workspace
from leadflood.errors import AppError, InvalidInput
from leadflood.inbox import correction, queries
from leadflood.inbox import service as inbox
from leadflood.inbox.queries import ThreadFilter
from leadflood.inbox.schemas import (
    LABELS,
    ClassificationUpdate,
    EffectInPlace,
    ReplyRequest,
    ThreadUpdate,
)
from leadflood.leads import timeline
from leadflood.models import Lead, Mailbox, Message, Sequence, Thread, ThreadState
from leadflood.pagination import DEFAULT_PAGE_SIZE
from leadflood.web.deps import MemberDep, RuntimeDep, SessionDep, nav_counts
from leadflood.web.render import render

router = APIRouter(include_in_schema=False)
FILTER_KEYS = ("state", "label", "unread", "mailbox", "sequence", "assignee")
STATES = ("open", "done", "all")
KIND_NAMES = {
    "reply": "Replies",
    "auto_reply": "Auto-replies",
    "bounce": "Bounces",
    "bounce_warning": "Delivery delays",
    "unsubscribe": "Unsubscribes",
    "complaint": "Complaints",
}


class InvalidReply(InvalidInput):
    code = "invalid_reply"


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def filters_from(params: Mapping[str, str]) -> dict[str, str]:
    """The list's filters as given in the query string (unknown values dropped)."""
    found = {key: params[key] for key in FILTER_KEYS if params.get(key)}
    if found.get("state") not in STATES:
        found.pop("state", None)
    if found.get("unread") != "1":
        found.pop("unread", None)
    for key in ("mailbox", "sequence"):
        if key in found and _uuid(found[key]) is None:
            found.pop(key)
    assignee = found.get("assignee")
    if assignee is not None and assignee not in ("me", "none") and _uuid(assignee) is None:
        found.pop("assignee")
    return found


def thread_filter(found: Mapping[str, str], me: uuid.UUID | None) -> ThreadFilter:
    state = found.get("state", "open")
    label = found.get("label") or None
    kind = None
    if label and label.startswith("kind:"):
        kind, label = label.removeprefix("kind:"), None
    assignee = found.get("assignee")
    return ThreadFilter(
        label=label,
        kind=kind,
        unread=True if found.get("unread") == "1" else None,
        mailbox_id=_uuid(found.get("mailbox")),
        sequence_id=_uuid(found.get("sequence")),
        assignee_id=me if assignee == "me" else _uuid(assignee),
        unassigned=assignee == "none" or (assignee == "me" and me is None),
        state=None if state == "all" else ThreadState(state),
    )


async def _names(session: SessionDep, workspace_id: uuid.UUID) -> dict[str, Any]:
    mailboxes = await session.execute(
        select(Mailbox.id, Mailbox.from_email)
        .where(in_workspace(Mailbox, workspace_id))
        .order_by(Mailbox.from_email)
    )
    sequences = await session.execute(
        select(Sequence.id, Sequence.name)
        .where(in_workspace(Sequence, workspace_id))
        .order_by(Sequence.name)
    )
    return {
        "mailboxes": [(str(i), e) for i, e in mailboxes],
        "sequences": [(str(i), n) for i, n in sequences],
        "members": await queries.members(session, workspace_id),
    }


async def _tab_counts(session: SessionDep, workspace_id: uuid.UUID, me: uuid.UUID | None) -> Any:
    is_open = Thread.state == ThreadState.open
    row = (
        await session.execute(
            select(
                func.count().filter(is_open),
                func.count().filter(is_open, Thread.unread),
                func.count().filter(is_open, Thread.assignee_id == me),
                func.count().filter(Thread.state == ThreadState.done),
            ).where(in_workspace(Thread, workspace_id))
        )
    ).one()
    return {"open": row[0], "unread": row[1], "mine": row[2], "done": row[3]}


@router.get("/inbox", response_class=HTMLResponse)
async def inbox_page(request: Request, member: MemberDep, session: SessionDep) -> HTMLResponse:
    me = member.user.id if member.user else None
    found = filters_from(request.query_params)
    cursor = request.query_params.get("cursor") or None
    page = await queries.list_threads(
        session, member.workspace_id, thread_filter(found, me), limit=DEFAULT_PAGE_SIZE,
        cursor=cursor,
    )  # fmt: skip
    names = await _names(session, member.workspace_id)
    return render(
        request,
        "inbox/index.html",
        {
            "active": "inbox",
            "threads": page.items,
            "page": page,
            "cursor": cursor,
            "filters": found,
            "query": urlencode(found),
            "counts": await _tab_counts(session, member.workspace_id, me),
            "labels": LABELS,
            "kind_names": KIND_NAMES,
            "member_names": {m.id: m.name for m in names["members"]},
            **names,
        },
    )


async def _thread_page(
    request: Request,
    session: SessionDep,
    member: MemberDep,
    thread_id: uuid.UUID,
    *,
    error: AppError | None = None,
    draft: dict[str, str] | None = None,
) -> HTMLResponse:
    me = member.user.id if member.user else None
    thread = await queries.get_thread(session, member.workspace_id, thread_id)
    await inbox.mark_read(session, thread)
    found = filters_from(request.query_params)
    above, below = await queries.neighbours(
        session, member.workspace_id, thread, thread_filter(found, me)
    )
    detail = await queries.thread_detail(session, thread)
    lead = await session.get(Lead, thread.lead_id) if thread.lead_id else None
    story = await timeline.detail(session, lead) if lead is not None else None
    enrollments = (
        await queries.enrollments_of(session, member.workspace_id, lead.id) if lead else []
    )
    mailbox = await session.get(Mailbox, thread.mailbox_id) if thread.mailbox_id else None
    members = await queries.members(session, member.workspace_id)
    corrected, in_place = await _left_in_place(session, member, request.query_params)
    return render(
        request,
        "inbox/thread.html",
        {
            "active": "inbox",
            "thread": detail,
            "lead": lead,
            "story": story,
            "enrollments": enrollments,
            "mailbox": mailbox,
            "members": members,
            "assignee": next((m for m in members if m.id == thread.assignee_id), None),
            "labels": LABELS,
            "kind_names": KIND_NAMES,
            "query": urlencode(found),
            "above": above,
            "below": below,
            "notice": request.query_params.get("notice"),
            "corrected": corrected,
            "in_place": in_place,
            "error": error,
            "draft": draft or {},
            "default_subject": inbox.reply_subject(thread.subject),
            # Counted again: the thread was read since the sidebar's count.
            "nav_counts": await nav_counts(session, member.workspace_id),
        },
        status=error.status if error is not None else 200,
    )


@router.get("/inbox/{thread_id}", response_class=HTMLResponse)
async def thread_page(
    thread_id: uuid.UUID, request: Request, member: MemberDep, session: SessionDep
) -> HTMLResponse:
    return await _thread_page(request, session, member, thread_id)


def _back(thread_id: uuid.UUID | None, query: str, **extra: str) -> str:
    params = "&".join(p for p in (query, urlencode(extra)) if p)
    path = f"/inbox/{thread_id}" if thread_id else "/inbox"
    return f"{path}?{params}" if params else path


@router.post("/inbox/{thread_id}/reply")
async def reply(
    thread_id: uuid.UUID,
    request: Request,
    member: MemberDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    form = await request.form()
    body, subject = str(form.get("body") or ""), str(form.get("subject") or "").strip()
    query = urlencode(filters_from(request.query_params))
    try:
        data = ReplyRequest(body=body, subject=subject or None)
        message = await inbox.reply(
            session, runtime.settings, thread_id, data, by=member, now=datetime.now(UTC)
        )
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0])
        problem = InvalidReply(
            "Write the reply first." if field == "body" and not body.strip()
            else f"The {field} is too long."
        )  # fmt: skip
        return await _thread_page(
            request, session, member, thread_id, error=problem,
            draft={"body": body, "subject": subject},
        )  # fmt: skip
    except AppError as exc:
        if exc.status == 404:
            raise
        # Refused before anything was written (suppressed, no mailbox, mailbox paused).
        return await _thread_page(
            request, session, member, thread_id, error=exc,
            draft={"body": body, "subject": subject},
        )  # fmt: skip
    return RedirectResponse(
        _back(thread_id, query, notice="replied") + f"#m-{message.id}", status_code=303
    )


@router.post("/inbox/{thread_id}")
async def update_thread(
    thread_id: uuid.UUID, request: Request, member: MemberDep, session: SessionDep
) -> Response:
    """One move per submit: `action` done | reopen | unread | assign (with `assignee_id`)."""
    form = await request.form()
    action = str(form.get("action") or "")
    found = filters_from(request.query_params)
    query = urlencode(found)
    moves: dict[str, dict[str, Any]] = {
        "done": {"state": ThreadState.done},
        "reopen": {"state": ThreadState.open},
        "unread": {"unread": True},
    }
    changes = moves.get(action, {})
    if action == "assign":
        changes = {"assignee_id": _uuid(str(form.get("assignee_id") or ""))}
    if not changes:
        return RedirectResponse(_back(thread_id, query), status_code=303)
    thread = await queries.get_thread(session, member.workspace_id, thread_id)
    if action == "done":
        # Where the person goes next: the thread below in the same list, as in a mail client.
        me = member.user.id if member.user else None
        _, below = await queries.neighbours(
            session, member.workspace_id, thread, thread_filter(found, me)
        )
    await inbox.update_thread(session, thread_id, ThreadUpdate(**changes), by=member)
    if action == "done":
        target = _back(below, query) if below else _back(None, query, notice="done")
        return RedirectResponse(target, status_code=303)
    if action == "unread":
        return RedirectResponse(_back(None, query), status_code=303)
    return RedirectResponse(_back(thread_id, query, notice=action), status_code=303)


@router.post("/inbox/{thread_id}/messages/{message_id}/classification")
async def correct(
    thread_id: uuid.UUID,
    message_id: uuid.UUID,
    request: Request,
    member: MemberDep,
    session: SessionDep,
) -> Response:
    form = await request.form()
    kind, _, label = str(form.get("classification") or "").partition(":")
    query = urlencode(filters_from(request.query_params))
    try:
        data = ClassificationUpdate.model_validate({"kind": kind, "label": label or None})
    except ValidationError:
        return RedirectResponse(_back(thread_id, query), status_code=303)
    done = await inbox.correct(session, message_id, data, by=member, now=datetime.now(UTC))
    # The page says which of the former label's effects still hold (and how to undo them).
    extra = {"corrected": str(message_id)} | ({"was": done.was} if done.was else {})
    return RedirectResponse(
        _back(thread_id, query, notice="corrected", **extra) + f"#m-{message_id}",
        status_code=303,
    )


async def _left_in_place(
    session: SessionDep, member: MemberDep, params: Mapping[str, str]
) -> tuple[uuid.UUID | None, list[EffectInPlace]]:
    """After a correction: the message corrected and the effects of its former label (`was`)
    that still hold."""
    message_id = _uuid(params.get("corrected"))
    was = params.get("was")
    if params.get("notice") != "corrected" or message_id is None:
        return None, []
    message = await session.get(Message, message_id)
    if message is None or message.workspace_id != member.workspace_id:
        return None, []
    if was not in correction.OUTCOMES:
        return message.id, []
    now_is = correction.outcome_of(dict(message.classification or {}))
    return message.id, await correction.left_in_place(session, message, was, now_is)


def routers() -> list[APIRouter]:
    """This feature's pages, in the order they are matched."""
    return [router]

"""Settings → Mailboxes: the list with health, the create/edit form (an SMTP login is checked on
save and its error shown next to the field it concerns), and each mailbox's DNS panel."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth.principal import CurrentMember
from leadflood.errors import AppError
from leadflood.mailboxes import checks as mailbox_checks
from leadflood.mailboxes import imap as mailbox_imap
from leadflood.mailboxes import service as mailboxes
from leadflood.mailboxes.schemas import MailboxCreate, MailboxUpdate
from leadflood.models import Mailbox
from leadflood.web import forms
from leadflood.web.deps import AdminDep, RuntimeDep, SessionDep, ViewerDep
from leadflood.web.render import render

router = APIRouter(include_in_schema=False)
PROVIDERS = (
    ("smtp", "SMTP"),
    ("resend", "Resend"),
    ("postmark", "Postmark"),
    ("sendgrid", "SendGrid"),
)
TEXT_FIELDS = (
    "name", "from_name", "from_email", "reply_to", "signature", "host", "port", "tls_mode",
    "username", "password", "api_key", "message_stream", "daily_cap", "min_gap_seconds",
    "jitter_seconds", "timezone", "start", "end", "warmup_start", "warmup_increment",
    "dkim_selector", "dkim_domain",
)  # fmt: skip
IMAP_FIELDS = ("imap_host", "imap_port", "imap_tls_mode", "imap_username", "imap_password",
               "imap_folders", "imap_poll_seconds")  # fmt: skip
IMAP_BOXES = ("imap_enabled", "imap_same_as_smtp", "imap_spam")
SECRET_FIELDS = ("password", "api_key")
# Which form field an SMTP check failure is about.
CHECK_FIELD = {"auth_failed": "password", "tls_failed": "tls_mode", "timeout": "host",
               "unreachable": "host", "unsupported": "host"}  # fmt: skip
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _imap_form(mailbox: Mailbox | None) -> dict[str, Any]:
    imap = (mailbox.imap if mailbox else None) or {}
    if not imap:
        return {"imap_enabled": "", "imap_tls_mode": "tls", "imap_port": "993",
                "imap_folders": "INBOX", "imap_same_as_smtp": "on"}  # fmt: skip
    return {
        "imap_enabled": "on",
        "imap_host": imap.get("host", ""),
        "imap_port": str(imap.get("port", "")),
        "imap_tls_mode": imap.get("tls_mode", "tls"),
        "imap_username": imap.get("username") or "",
        "imap_same_as_smtp": "on" if imap.get("same_as_smtp") else "",
        "imap_folders": ", ".join(imap.get("folders") or ["INBOX"]),
        "imap_poll_seconds": str(imap.get("poll_seconds") or ""),
    }


def _imap_payload(form: dict[str, Any], mailbox: Mailbox | None) -> dict[str, Any]:
    """The `imap` part of the request: set from the section, removed when it is unticked
    (absent when it was never set)."""
    if form.get("imap_enabled") != "on":
        return {"imap": None} if mailbox is not None and mailbox.imap else {}
    same = form.get("imap_same_as_smtp") == "on"
    imap: dict[str, Any] = {
        "host": form.get("imap_host") or "",
        "tls_mode": form.get("imap_tls_mode") or "tls",
        "same_as_smtp": same,
        "folders": [f for f in (form.get("imap_folders") or "INBOX").split(",") if f.strip()],
        "spam": form.get("imap_spam") == "on",
    }
    if form.get("imap_port"):
        imap["port"] = form["imap_port"]
    if form.get("imap_poll_seconds"):
        imap["poll_seconds"] = form["imap_poll_seconds"]
    if not same:
        imap["username"] = form.get("imap_username") or None
        if form.get("imap_password"):
            imap["password"] = form["imap_password"]
    return {"imap": imap}


def _error_key(loc: forms.Loc) -> str:
    names = [str(part) for part in loc if not isinstance(part, int)]
    if names[:1] == ["imap"]:
        return "imap_" + names[1] if len(names) > 1 else "imap_username"
    return forms.first_field(loc)


def _form_of(mailbox: Mailbox | None) -> dict[str, Any]:
    if mailbox is None:
        return {"provider": "smtp", "port": "587", "tls_mode": "starttls", "daily_cap": "50",
                "min_gap_seconds": "120", "jitter_seconds": "60", "timezone": "UTC",
                "days": [0, 1, 2, 3, 4], "start": "", "end": "", "warmup_start": "10",
                "warmup_increment": "5"} | _imap_form(None)  # fmt: skip
    settings = mailboxes.settings_of(mailbox)
    window = mailbox.window or {}
    return {
        **{
            k: getattr(mailbox, k)
            for k in (
                "name",
                "from_name",
                "from_email",
                "reply_to",
                "signature",
                "daily_cap",
                "min_gap_seconds",
                "jitter_seconds",
                "timezone",
                "warmup_enabled",
                "warmup_start",
                "warmup_increment",
                "dkim_selector",
                "dkim_domain",
            )
        },
        **{k: settings.get(k, "") for k in ("host", "port", "tls_mode", "username")},
        "provider": mailbox.provider,
        "days": window.get("days", [0, 1, 2, 3, 4]),
        "start": window.get("start", ""),
        "end": window.get("end", ""),
        **_imap_form(mailbox),
    }


def _payload(form: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    for key in TEXT_FIELDS:
        value = form.get(key, "")
        if key in ("start", "end"):
            continue
        if key in SECRET_FIELDS and not value:
            continue  # blank keeps the saved secret
        if value == "" and key in ("from_name", "reply_to", "host", "username", "port",
                                   "dkim_selector", "dkim_domain", "message_stream"):  # fmt: skip
            payload[key] = None
            continue
        payload[key] = value
    payload = {k: v for k, v in payload.items() if v is not None or not creating}
    payload["warmup_enabled"] = form.get("warmup_enabled") == "on"
    days = form.get("days") or []
    payload["window"] = (
        {"days": days, "start": form.get("start"), "end": form.get("end")}
        if form.get("start") or form.get("end")
        else {}
    )
    if creating:
        payload["provider"] = form.get("provider") or "smtp"
    if (form.get("provider") or "smtp") != "smtp":
        for key in ("host", "port", "tls_mode", "username"):
            payload.pop(key, None)
    return payload


def _errors(exc: ValidationError) -> dict[str, str]:
    errors = forms.field_errors(exc, key=_error_key)
    if "window" in errors:
        message = errors.pop("window")
        if message.lower().startswith("days "):
            message = "Tick at least one day for the mailbox window (or clear both times)."
        errors.setdefault("start", message)
    whole = errors.pop(forms.FORM, None)
    if whole is not None:
        field = "host" if "host" in whole else "api_key" if "api_key" in whole else forms.FORM
        errors.setdefault(field, whole)
    return errors


async def _form_page(
    request: Request,
    session: AsyncSession,
    mailbox: Mailbox | None,
    form: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> HTMLResponse:
    health = (await mailboxes.health(session, [mailbox]))[mailbox.id] if mailbox else None
    imap = None
    if mailbox is not None:
        folders = await mailbox_imap.folder_states(session, [mailbox.id])
        imap = mailbox_imap.read(mailbox, folders[mailbox.id], session.info["settings"])
    return render(
        request,
        "mailboxes/form.html",
        {
            "active": "settings",
            "tab": "mailboxes",
            "mailbox": mailbox,
            "health": health,
            "imap": imap,
            "form": form,
            "errors": errors,
            "providers": PROVIDERS,
            "day_names": DAY_NAMES,
            "saved": request.query_params.get("saved"),
            "checked": request.query_params.get("checked"),
            "sync_job": request.query_params.get("sync"),
        },
        status=status,
    )


async def _read_form(request: Request) -> dict[str, Any]:
    raw = await request.form()
    form: dict[str, Any] = {k: str(raw.get(k) or "").strip() for k in TEXT_FIELDS + IMAP_FIELDS}
    form |= {k: "on" if raw.get(k) == "on" else "" for k in IMAP_BOXES}
    form["signature"] = str(raw.get("signature") or "")
    form["provider"] = str(raw.get("provider") or "smtp")
    form["warmup_enabled"] = "on" if raw.get("warmup_enabled") == "on" else ""
    form["days"] = [int(str(d)) for d in raw.getlist("days") if str(d).isdigit()]
    return form


async def _save(
    request: Request, session: AsyncSession, member: CurrentMember, mailbox: Mailbox | None
) -> Response:
    workspace_id = member.workspace_id
    form = await _read_form(request)
    try:
        if mailbox is None:
            payload = _payload(form, creating=True) | _imap_payload(form, None)
            data: Any = MailboxCreate.model_validate(payload)
        else:
            form["provider"] = mailbox.provider
            payload = _payload(form, creating=False) | _imap_payload(form, mailbox)
            data = MailboxUpdate.model_validate(payload)
        async with forms.savepoint(session):
            if mailbox is None:
                saved = await mailboxes.create(session, workspace_id, data, by=member)
            else:
                saved = await mailboxes.update(session, workspace_id, mailbox.id, data, by=member)
    except ValidationError as exc:
        return await _form_page(request, session, mailbox, form, _errors(exc), 422)
    except (mailbox_imap.ImapCheckFailed, mailbox_imap.ImapPasswordMissing) as exc:
        if mailbox is not None:
            await session.refresh(mailbox)
        errors = forms.field_errors(exc)
        errors = {k.replace("imap.", "imap_"): v for k, v in errors.items()}
        return await _form_page(request, session, mailbox, form, errors, 422)
    except mailboxes.MailboxCheckFailed as exc:
        code = exc.details.get("code") if isinstance(exc.details, dict) else None
        field = CHECK_FIELD.get(str(code), "host") if form["provider"] == "smtp" else "api_key"
        if mailbox is not None:
            await session.refresh(mailbox)
        return await _form_page(request, session, mailbox, form, {field: exc.message}, 422)
    return RedirectResponse(f"/settings/mailboxes/{saved.id}?saved=1", status_code=303)


@router.get("/settings/mailboxes", response_class=HTMLResponse)
async def mailbox_list(request: Request, session: SessionDep, member: ViewerDep) -> Response:
    rows = await mailboxes.list_all(session, member.workspace_id)
    health = await mailboxes.health(session, rows)
    return render(
        request,
        "mailboxes/index.html",
        {
            "active": "settings",
            "tab": "mailboxes",
            "mailboxes": rows,
            "health": health,
            "deleted": request.query_params.get("deleted"),
        },
    )


@router.get("/settings/mailboxes/new", response_class=HTMLResponse)
async def new_mailbox(request: Request, session: SessionDep, member: AdminDep) -> Response:
    return await _form_page(request, session, None, _form_of(None), {})


@router.post("/settings/mailboxes", response_class=HTMLResponse)
async def create_mailbox(request: Request, session: SessionDep, member: AdminDep) -> Response:
    return await _save(request, session, member, None)


@router.get("/settings/mailboxes/{mailbox_id}", response_class=HTMLResponse)
async def edit_mailbox(
    mailbox_id: uuid.UUID, request: Request, session: SessionDep, member: ViewerDep
) -> Response:
    mailbox = await mailboxes.get(session, member.workspace_id, mailbox_id)
    return await _form_page(request, session, mailbox, _form_of(mailbox), {})


@router.post("/settings/mailboxes/{mailbox_id}", response_class=HTMLResponse)
async def save_mailbox(
    mailbox_id: uuid.UUID, request: Request, session: SessionDep, member: AdminDep
) -> Response:
    mailbox = await mailboxes.get(session, member.workspace_id, mailbox_id)
    return await _save(request, session, member, mailbox)


@router.post("/settings/mailboxes/{mailbox_id}/{action}", response_class=HTMLResponse)
async def mailbox_action(
    mailbox_id: uuid.UUID,
    action: str,
    request: Request,
    session: SessionDep,
    member: AdminDep,
    runtime: RuntimeDep,
) -> Response:
    workspace_id = member.workspace_id
    mailbox = await mailboxes.get(session, workspace_id, mailbox_id)
    target = f"/settings/mailboxes/{mailbox_id}"
    try:
        if action == "pause":
            await mailboxes.pause(session, workspace_id, mailbox_id, by=member)
        elif action == "resume":
            async with forms.savepoint(session):
                await mailboxes.resume(session, workspace_id, mailbox_id, by=member)
        elif action == "sync":
            job_id = await mailbox_imap.request_sync(session, mailbox, by=member)
            target += f"?sync={job_id}#replies"
        elif action == "dns":
            await mailboxes.check_dns(session, workspace_id, mailbox_id)
            target += "#dns"
        elif action == "check":
            verdict = await mailbox_checks.check(session, workspace_id, mailbox_id)
            if not verdict.ok:
                field = CHECK_FIELD.get(str(verdict.code), "host")
                if mailbox.provider != "smtp":
                    field = "api_key"
                return await _form_page(
                    request, session, mailbox, _form_of(mailbox), {field: verdict.error or ""}, 422
                )
            target += "?checked=1"
        elif action == "delete":
            await mailboxes.delete(session, workspace_id, mailbox_id, by=member)
            return RedirectResponse("/settings/mailboxes?deleted=1", status_code=303)
        else:
            return RedirectResponse(target, status_code=303)
    except AppError as exc:
        await session.refresh(mailbox)
        return await _form_page(
            request, session, mailbox, _form_of(mailbox), {"_form": exc.message}, exc.status
        )
    return RedirectResponse(target, status_code=303)


def routers() -> list[APIRouter]:
    """This feature's pages, in the order they are matched."""
    return [router]

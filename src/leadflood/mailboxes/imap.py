"""A mailbox's IMAP settings (where its replies are read): saved only once a real login works
and the folders exist, the password kept in the store for secrets (or the SMTP one reused),
the sync status of each watched folder, and "sync now". The sync itself is the inbox's
(`leadflood.inbox.sync`), run by the tasks named here."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import jobs
from leadflood.auth import audit, credentials
from leadflood.auth.principal import CurrentMember
from leadflood.errors import Conflict, InvalidInput
from leadflood.mailboxes.schemas import FolderSync, ImapIn, ImapRead
from leadflood.models import CredentialKind, Mailbox, MailboxFolder
from leadflood.providers.inbound import imap as imap_transport
from leadflood.providers.inbound.imap import ImapError, ImapSettings
from leadflood.settings import Settings

SYNC_TASK = "inbox.sync_mailbox"
RECOVER_TASK = "inbox.recover_mailbox"
# Which form field an IMAP check failure is about.
CHECK_FIELD = {
    "imap_login_failed": "imap_password",
    "imap_folder_missing": "imap_folders",
    "imap_tls_failed": "imap_tls_mode",
}


class ImapCheckFailed(InvalidInput):
    """The IMAP login or folders did not work; `code` is the transport's stable code
    (imap_login_failed, imap_unreachable, imap_tls_failed, imap_timeout, imap_folder_missing,
    imap_protocol_error)."""

    code = "imap_check_failed"
    message = "The IMAP settings do not work."

    def __init__(self, error: ImapError) -> None:
        super().__init__(
            str(error), details={"field": "imap." + _field_of(error.code), "code": error.code}
        )
        self.code = error.code or self.code


def _field_of(code: str | None) -> str:
    return CHECK_FIELD.get(code or "", "imap_host").removeprefix("imap_")


class ImapNotConfigured(Conflict):
    code = "imap_not_configured"
    message = (
        "This mailbox does not read replies: add its IMAP settings (host, username, password) "
        "first."
    )


class ImapPasswordMissing(InvalidInput):
    code = "imap_password_missing"
    message = "Give the IMAP password (or choose the same login as SMTP)."


def sync_lock(mailbox_id: uuid.UUID) -> str:
    """One sync or recovery of a mailbox runs at a time."""
    return f"inbox.mailbox:{mailbox_id}"


def _settings(session: AsyncSession) -> Settings:
    settings: Settings = session.info["settings"]
    return settings


def poll_seconds(mailbox: Mailbox, settings: Settings) -> int:
    value = (mailbox.imap or {}).get("poll_seconds")
    return int(value) if value else settings.imap_poll_seconds


async def login_settings(session: AsyncSession, mailbox: Mailbox) -> ImapSettings:
    """The IMAP login of this mailbox, password decrypted (its own or the SMTP one)."""
    imap = mailbox.imap
    if not imap:
        raise ImapNotConfigured()
    if imap.get("same_as_smtp"):
        username = (mailbox.config or {}).get("username") or mailbox.from_email
        password = await credentials.reveal(session, mailbox.secret_id)
    else:
        username = imap.get("username") or ""
        password = await credentials.reveal(session, mailbox.imap_secret_id)
    if password is None:
        raise ImapPasswordMissing()
    return ImapSettings(
        host=imap["host"],
        port=int(imap["port"]),
        tls_mode=imap["tls_mode"],
        username=username,
        password=password,
        timeout=_settings(session).imap_timeout_seconds,
    )


async def check_login(session: AsyncSession, mailbox: Mailbox, *, spam: bool = False) -> list[str]:
    """Log in for real and check the folders; the folders to watch. ImapCheckFailed else."""
    login = await login_settings(session, mailbox)
    folders = list((mailbox.imap or {}).get("folders") or ["INBOX"])
    try:
        return await asyncio.to_thread(imap_transport.check, login, folders, spam=spam)
    except ImapError as exc:
        raise ImapCheckFailed(exc) from exc


async def apply(session: AsyncSession, mailbox: Mailbox, data: ImapIn | None) -> None:
    """Set (or, with None, remove) the IMAP settings, then check them by logging in; raises
    ImapCheckFailed (the caller's transaction is rolled back: nothing is saved) when they do
    not work. A changed server or account starts the folders' sync state afresh."""
    if data is None:
        await _forget(session, mailbox)
        return
    if data.same_as_smtp and mailbox.provider != "smtp":
        raise InvalidInput(
            f"A {mailbox.provider} mailbox has no SMTP login to share: give the IMAP username "
            "and password.",
            details={"field": "imap.same_as_smtp"},
        )
    before = dict(mailbox.imap or {})
    imap: dict[str, Any] = {
        "host": data.host,
        "port": data.port or imap_transport.default_port(data.tls_mode),
        "tls_mode": data.tls_mode,
        "same_as_smtp": data.same_as_smtp,
        "username": None if data.same_as_smtp else data.username,
        "folders": list(data.folders),
        "poll_seconds": data.poll_seconds,
    }
    if data.same_as_smtp:
        await credentials.forget(session, mailbox.imap_secret_id)
        mailbox.imap_secret_id = None
    elif data.password:
        mailbox.imap_secret_id = await credentials.store(
            session, mailbox.workspace_id, provider="imap", kind=CredentialKind.imap_secret,
            secret=data.password, credential_id=mailbox.imap_secret_id,
        )  # fmt: skip
    elif mailbox.imap_secret_id is None:
        raise ImapPasswordMissing(details={"field": "imap.password"})
    mailbox.imap = imap
    imap["folders"] = await check_login(session, mailbox, spam=data.spam)
    mailbox.imap = dict(imap)
    account = ("host", "port", "username", "same_as_smtp")
    if any(before.get(k) != imap.get(k) for k in account):
        await session.execute(delete(MailboxFolder).where(MailboxFolder.mailbox_id == mailbox.id))
    else:
        await session.execute(
            delete(MailboxFolder).where(
                MailboxFolder.mailbox_id == mailbox.id,
                MailboxFolder.folder.not_in(imap["folders"]),
            )
        )


async def _forget(session: AsyncSession, mailbox: Mailbox) -> None:
    secret_id = mailbox.imap_secret_id
    mailbox.imap, mailbox.imap_secret_id = None, None
    await session.flush()
    await credentials.forget(session, secret_id)
    await session.execute(delete(MailboxFolder).where(MailboxFolder.mailbox_id == mailbox.id))


async def folder_states(
    session: AsyncSession, mailbox_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[MailboxFolder]]:
    found: dict[uuid.UUID, list[MailboxFolder]] = {m: [] for m in mailbox_ids}
    rows = await session.scalars(
        select(MailboxFolder)
        .where(MailboxFolder.mailbox_id.in_(list(mailbox_ids)))
        .order_by(MailboxFolder.mailbox_id, MailboxFolder.folder)
    )
    for row in rows:
        found[row.mailbox_id].append(row)
    return found


def read(mailbox: Mailbox, folders: Sequence[MailboxFolder], settings: Settings) -> ImapRead | None:
    imap = mailbox.imap
    if not imap:
        return None
    watched = list(imap.get("folders") or ["INBOX"])
    by_name = {f.folder: f for f in folders}
    sync = [FolderSync.model_validate(by_name[name]) for name in watched if name in by_name]
    state: Literal["pending", "ok", "failing"]
    if any(f.last_error for f in sync):
        state = "failing"
    elif len(sync) < len(watched) or any(f.last_good_sync_at is None for f in sync):
        state = "pending"
    else:
        state = "ok"
    good = [f.last_good_sync_at for f in sync if f.last_good_sync_at is not None]
    oldest: datetime | None = min(good) if good and len(good) == len(watched) else None
    return ImapRead(
        host=imap["host"],
        port=int(imap["port"]),
        tls_mode=imap["tls_mode"],
        same_as_smtp=bool(imap.get("same_as_smtp")),
        username=imap.get("username")
        or ((mailbox.config or {}).get("username") if imap.get("same_as_smtp") else None),
        has_password=(mailbox.secret_id if imap.get("same_as_smtp") else mailbox.imap_secret_id)
        is not None,
        folders=watched,
        poll_seconds=poll_seconds(mailbox, settings),
        sync=sync,
        state=state,
        last_good_sync_at=oldest,
    )


async def request_sync(
    session: AsyncSession, mailbox: Mailbox, *, by: CurrentMember | None = None
) -> int:
    """Defer a sync of this mailbox now (in the caller's transaction); the job's id."""
    if not mailbox.imap:
        raise ImapNotConfigured()
    job_id = await jobs.defer(
        session,
        SYNC_TASK,
        workspace_id=mailbox.workspace_id,
        subject_type="mailbox",
        subject_id=mailbox.id,
        lock=sync_lock(mailbox.id),
        mailbox_id=str(mailbox.id),
        report_failure=True,
    )
    await audit.record(
        session, "mailbox.sync_requested", actor=by, workspace_id=mailbox.workspace_id,
        target_type="mailbox", target_id=mailbox.id, details={"job_id": job_id},
    )  # fmt: skip
    return job_id

"""`leadflood mailboxes ...`: sender accounts (SMTP logins are checked when saved)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.table import Table

from leadflood.console import (
    DataDir,
    Json,
    WorkspaceOption,
    console,
    err,
    find_workspace,
    in_session,
    settings_from,
    shell_member,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from leadflood.auth.principal import CurrentMember
    from leadflood.models import Mailbox
    from leadflood.runtime import Runtime

T = TypeVar("T")
app = typer.Typer(
    help="Mailboxes (sender accounts): SMTP or an HTTP provider.", no_args_is_help=True
)

Name = Annotated[str, typer.Option(help="A name to recognise it by.")]
FromEmail = Annotated[str, typer.Option("--from-email", help="The sender address.")]
FromName = Annotated[str | None, typer.Option("--from-name", show_default=False)]
DailyCap = Annotated[int, typer.Option(help="At most this many sends a day.")]
MinGap = Annotated[int, typer.Option(help="Seconds between two sends.")]
Jitter = Annotated[int, typer.Option(help="Random extra seconds added to the gap.")]
Warmup = Annotated[
    int | None,
    typer.Option(help="Warm-up: start at this many a day, growing by --warmup-increment."),
]
WarmupIncrement = Annotated[int, typer.Option(help="Warm-up growth per day.")]
MailboxArg = Annotated[uuid.UUID, typer.Argument(help="The mailbox's id.")]
ImapHost = Annotated[
    str | None,
    typer.Option("--imap-host", help="Read replies from this IMAP server.", show_default=False),
]
ImapPort = Annotated[
    int | None, typer.Option("--imap-port", help="Default 993 (TLS), else 143.", show_default=False)
]
ImapTls = Annotated[str, typer.Option("--imap-tls", help="tls | starttls | none")]
ImapUsername = Annotated[str | None, typer.Option("--imap-username", show_default=False)]
ImapPassword = Annotated[
    str | None,
    typer.Option(
        "--imap-password", envvar="LEADFLOOD_IMAP_PASSWORD", show_default=False,
        help="Or set LEADFLOOD_IMAP_PASSWORD.",
    ),
]  # fmt: skip
ImapSameAsSmtp = Annotated[
    bool, typer.Option("--imap-same-as-smtp", help="Log in with the SMTP username and password.")
]
ImapFolders = Annotated[
    list[str] | None,
    typer.Option(
        "--imap-folder", help="A folder to watch (repeat; default INBOX).", show_default=False
    ),
]
ImapSpam = Annotated[bool, typer.Option("--imap-spam", help="Watch the spam folder too.")]
ImapPoll = Annotated[
    int | None,
    typer.Option(
        "--imap-poll", help="Seconds between polls (default IMAP_POLL_SECONDS).", show_default=False
    ),
]


def _in_workspace(
    data_dir: Path | None,
    workspace: str | None,
    work: Callable[[AsyncSession, Runtime, uuid.UUID], Awaitable[T]],
) -> T:
    async def run(session: AsyncSession, runtime: Runtime) -> T:
        found = await find_workspace(session, workspace)
        return await work(session, runtime, found.id)

    return in_session(settings_from(data_dir), run)


async def _read(session: AsyncSession, mailbox: Mailbox) -> dict[str, Any]:
    from leadflood.mailboxes import service as mailboxes

    read = (await mailboxes.read_all(session, [mailbox]))[0]
    result: dict[str, Any] = read.model_dump(mode="json")
    return result


def _imap(
    host: str | None, port: int | None, tls: str, username: str | None, password: str | None,
    same_as_smtp: bool, folders: list[str] | None, spam: bool, poll: int | None,
) -> dict[str, object] | None:  # fmt: skip
    if host is None:
        return None
    imap: dict[str, object] = {
        "host": host, "port": port, "tls_mode": tls, "username": username, "password": password,
        "same_as_smtp": same_as_smtp, "spam": spam, "poll_seconds": poll,
    }  # fmt: skip
    if folders:
        imap["folders"] = folders
    return {k: v for k, v in imap.items() if v is not None}


def _invalid(exc: ValidationError) -> typer.Exit:
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "input"
        err.print(f"[red]{field}[/red]: {str(error['msg']).removeprefix('Value error, ')}")
    return typer.Exit(2)


async def _shell(session: AsyncSession, workspace_id: uuid.UUID) -> CurrentMember:
    """Who a command acts as in the audit log."""
    from leadflood.models import Workspace

    workspace = await session.get(Workspace, workspace_id)
    assert workspace is not None
    return shell_member(workspace)


def _create(
    payload: dict[str, object], workspace: str | None, data_dir: Path | None, as_json: bool
) -> None:
    from leadflood.mailboxes import service as mailboxes
    from leadflood.mailboxes.schemas import MailboxCreate

    try:
        data = MailboxCreate.model_validate({k: v for k, v in payload.items() if v is not None})
    except ValidationError as exc:
        raise _invalid(exc) from None

    async def work(
        session: AsyncSession, runtime: Runtime, workspace_id: uuid.UUID
    ) -> dict[str, Any]:
        by = await _shell(session, workspace_id)
        return await _read(session, await mailboxes.create(session, workspace_id, data, by=by))

    made = _in_workspace(data_dir, workspace, work)
    if as_json:
        console.print_json(json.dumps(made))
    else:
        console.print(f"Added mailbox [bold]{made['name']}[/bold] ({made['id']}).")


def _sending(
    from_name: str | None, daily_cap: int, min_gap: int, jitter: int,
    warmup: int | None, warmup_increment: int,
) -> dict[str, object]:  # fmt: skip
    return {
        "from_name": from_name,
        "daily_cap": daily_cap,
        "min_gap_seconds": min_gap,
        "jitter_seconds": jitter,
        "warmup_enabled": warmup is not None,
        "warmup_start": warmup,
        "warmup_increment": warmup_increment,
    }


@app.command("add-smtp")
def add_smtp(
    name: Name,
    from_email: FromEmail,
    host: Annotated[str, typer.Option(help="The SMTP server.")],
    username: Annotated[str | None, typer.Option(show_default=False)] = None,
    password: Annotated[
        str | None,
        typer.Option(envvar="LEADFLOOD_SMTP_PASSWORD", help="Or set LEADFLOOD_SMTP_PASSWORD."),
    ] = None,
    port: Annotated[int, typer.Option()] = 587,
    tls: Annotated[str, typer.Option(help="starttls | tls | none")] = "starttls",
    from_name: FromName = None,
    daily_cap: DailyCap = 50,
    min_gap: MinGap = 120,
    jitter: Jitter = 60,
    warmup: Warmup = None,
    warmup_increment: WarmupIncrement = 5,
    imap_host: ImapHost = None,
    imap_port: ImapPort = None,
    imap_tls: ImapTls = "tls",
    imap_username: ImapUsername = None,
    imap_password: ImapPassword = None,
    imap_same_as_smtp: ImapSameAsSmtp = False,
    imap_folder: ImapFolders = None,
    imap_spam: ImapSpam = False,
    imap_poll: ImapPoll = None,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Add an SMTP mailbox; the server is connected to and logged in to before it is saved
    (and with --imap-host, the IMAP server its replies are read from)."""
    payload = {
        "name": name,
        "provider": "smtp",
        "from_email": from_email,
        "host": host,
        "port": port,
        "tls_mode": tls,
        "username": username,
        "password": password,
    } | _sending(from_name, daily_cap, min_gap, jitter, warmup, warmup_increment)
    payload["imap"] = _imap(
        imap_host, imap_port, imap_tls, imap_username, imap_password, imap_same_as_smtp,
        imap_folder, imap_spam, imap_poll,
    )  # fmt: skip
    _create(payload, workspace, data_dir, as_json)


@app.command("add-http")
def add_http(
    name: Name,
    from_email: FromEmail,
    provider: Annotated[str, typer.Option(help="resend | postmark | sendgrid")],
    api_key: Annotated[
        str, typer.Option(envvar="LEADFLOOD_EMAIL_API_KEY", help="Or LEADFLOOD_EMAIL_API_KEY.")
    ],
    from_name: FromName = None,
    daily_cap: DailyCap = 50,
    min_gap: MinGap = 120,
    jitter: Jitter = 60,
    warmup: Warmup = None,
    warmup_increment: WarmupIncrement = 5,
    imap_host: ImapHost = None,
    imap_port: ImapPort = None,
    imap_tls: ImapTls = "tls",
    imap_username: ImapUsername = None,
    imap_password: ImapPassword = None,
    imap_folder: ImapFolders = None,
    imap_spam: ImapSpam = False,
    imap_poll: ImapPoll = None,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Add a mailbox sending through Resend, Postmark or SendGrid (with --imap-host, its
    replies are read from that IMAP server)."""
    payload: dict[str, object] = {
        "name": name,
        "provider": provider,
        "from_email": from_email,
        "api_key": api_key,
    }
    payload |= _sending(from_name, daily_cap, min_gap, jitter, warmup, warmup_increment)
    payload["imap"] = _imap(
        imap_host, imap_port, imap_tls, imap_username, imap_password, False, imap_folder,
        imap_spam, imap_poll,
    )  # fmt: skip
    _create(payload, workspace, data_dir, as_json)


@app.command("list")
def list_mailboxes(
    workspace: WorkspaceOption = None, data_dir: DataDir = None, as_json: Json = False
) -> None:
    """Mailboxes with today's sends against the cap, bounce rate and last error."""
    from leadflood.mailboxes import service as mailboxes

    async def work(
        session: AsyncSession, runtime: Runtime, workspace_id: uuid.UUID
    ) -> list[dict[str, Any]]:
        rows = await mailboxes.list_all(session, workspace_id)
        return [r.model_dump(mode="json") for r in await mailboxes.read_all(session, rows)]

    items = _in_workspace(data_dir, workspace, work)
    if as_json:
        console.print_json(json.dumps(items))
        return
    table = Table("ID", "Name", "From", "Provider", "State", "Today", "Bounce 7d", box=None)
    for m in items:
        h = m["health"]
        rate = h["bounce_rate_7d"]
        table.add_row(
            m["id"], m["name"], m["from_email"], m["provider"], m["state"],
            f"{h['sent_today']}/{h['cap_today']}", "—" if rate is None else f"{rate:.1%}",
        )  # fmt: skip
    console.print(table if items else "No mailboxes yet: `leadflood mailboxes add-smtp …`.")


@app.command("check")
def check(
    mailbox: MailboxArg,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Log in again with the saved settings; exits 1 when it fails."""
    from leadflood.mailboxes import checks as mailbox_checks

    async def work(
        session: AsyncSession, runtime: Runtime, workspace_id: uuid.UUID
    ) -> dict[str, Any]:
        verdict = await mailbox_checks.check(session, workspace_id, mailbox)
        return verdict.model_dump(mode="json")

    verdict = _in_workspace(data_dir, workspace, work)
    if as_json:
        console.print_json(json.dumps(verdict))
    elif verdict["ok"]:
        console.print("[green]OK[/green]: the mailbox works.")
    else:
        err.print(f"[red]{verdict['code'] or 'check_failed'}[/red]: {verdict['error']}")
    if not verdict["ok"]:
        raise typer.Exit(1)


def _set_state(
    action: str, mailbox: uuid.UUID, workspace: str | None, data_dir: Path | None, as_json: bool
) -> None:
    from leadflood.mailboxes import service as mailboxes

    async def work(
        session: AsyncSession, runtime: Runtime, workspace_id: uuid.UUID
    ) -> dict[str, Any]:
        change = mailboxes.pause if action == "pause" else mailboxes.resume
        by = await _shell(session, workspace_id)
        return await _read(session, await change(session, workspace_id, mailbox, by=by))

    row = _in_workspace(data_dir, workspace, work)
    if as_json:
        console.print_json(json.dumps(row))
    else:
        console.print(f"Mailbox [bold]{row['name']}[/bold] is {row['state']}.")


@app.command("pause")
def pause(
    mailbox: MailboxArg,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Stop sending from this mailbox (queued messages wait)."""
    _set_state("pause", mailbox, workspace, data_dir, as_json)


@app.command("resume")
def resume(
    mailbox: MailboxArg,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Send again (a mailbox in error is checked first)."""
    _set_state("resume", mailbox, workspace, data_dir, as_json)


@app.command("dns")
def dns(
    mailbox: MailboxArg,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Look up the sender domain's SPF, DKIM and DMARC records now (offline: unknown)."""
    from leadflood.mailboxes import service as mailboxes

    async def work(
        session: AsyncSession, runtime: Runtime, workspace_id: uuid.UUID
    ) -> dict[str, Any]:
        found: dict[str, Any] = await mailboxes.check_dns(session, workspace_id, mailbox)
        return found

    found = _in_workspace(data_dir, workspace, work)
    if as_json:
        console.print_json(json.dumps(found, default=str))
        return
    console.print(f"DNS of [bold]{found['domain']}[/bold]:")
    for key in ("spf", "dkim", "dmarc"):
        item = found.get(key) or {}
        status = str(item.get("status") or "unknown")
        color = {"ok": "green", "unknown": "yellow"}.get(status, "red")
        said = item.get("record") or item.get("detail") or ""
        console.print(f"  {key.upper():5} [{color}]{status}[/{color}]  {said}")


@app.command("set-imap")
def set_imap(
    mailbox: MailboxArg,
    imap_host: ImapHost = None,
    imap_port: ImapPort = None,
    imap_tls: ImapTls = "tls",
    imap_username: ImapUsername = None,
    imap_password: ImapPassword = None,
    imap_same_as_smtp: ImapSameAsSmtp = False,
    imap_folder: ImapFolders = None,
    imap_spam: ImapSpam = False,
    imap_poll: ImapPoll = None,
    off: Annotated[bool, typer.Option("--off", help="Stop reading replies here.")] = False,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Read this mailbox's replies over IMAP (the login is checked before it is saved; an
    omitted password keeps the saved one), or stop with --off."""
    from leadflood.mailboxes import service as mailboxes
    from leadflood.mailboxes.schemas import MailboxUpdate

    if not off and imap_host is None:
        err.print("[red]imap_host[/red]: give --imap-host (or --off to stop reading replies).")
        raise typer.Exit(2)
    imap = None if off else _imap(
        imap_host, imap_port, imap_tls, imap_username, imap_password, imap_same_as_smtp,
        imap_folder, imap_spam, imap_poll,
    )  # fmt: skip
    try:
        data = MailboxUpdate.model_validate({"imap": imap})
    except ValidationError as exc:
        raise _invalid(exc) from None

    async def work(
        session: AsyncSession, runtime: Runtime, workspace_id: uuid.UUID
    ) -> dict[str, Any]:
        by = await _shell(session, workspace_id)
        return await _read(
            session, await mailboxes.update(session, workspace_id, mailbox, data, by=by)
        )

    row = _in_workspace(data_dir, workspace, work)
    if as_json:
        console.print_json(json.dumps(row))
    elif row["imap"]:
        folders = ", ".join(row["imap"]["folders"])
        console.print(f"Replies to [bold]{row['name']}[/bold] are read from {folders}.")
    else:
        console.print(f"Replies to [bold]{row['name']}[/bold] are no longer read.")


@app.command("sync")
def sync(
    mailbox: MailboxArg,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Read new replies now (over IMAP) instead of at the next poll; a worker runs the job."""
    from leadflood.mailboxes import imap as mailbox_imap
    from leadflood.mailboxes import service as mailboxes

    async def work(session: AsyncSession, runtime: Runtime, workspace_id: uuid.UUID) -> int:
        found = await mailboxes.get(session, workspace_id, mailbox)
        return await mailbox_imap.request_sync(
            session, found, by=await _shell(session, workspace_id)
        )

    job_id = _in_workspace(data_dir, workspace, work)
    if as_json:
        console.print_json(json.dumps({"job_id": job_id}))
    else:
        console.print(
            f"Sync started (job {job_id}); `leadflood mailboxes show {mailbox}` shows the result."
        )


@app.command("show")
def show(
    mailbox: MailboxArg,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """One mailbox: its settings, health and, when it reads replies, each folder's sync."""
    from leadflood.mailboxes import service as mailboxes

    async def work(
        session: AsyncSession, runtime: Runtime, workspace_id: uuid.UUID
    ) -> dict[str, Any]:
        return await _read(session, await mailboxes.get(session, workspace_id, mailbox))

    row = _in_workspace(data_dir, workspace, work)
    if as_json:
        console.print_json(json.dumps(row))
        return
    console.print(
        f"[bold]{row['name']}[/bold] <{row['from_email']}> via {row['provider']}, {row['state']}"
    )
    imap = row["imap"]
    if not imap:
        console.print("Replies: not read (`leadflood mailboxes set-imap` to read them).")
        return
    console.print(
        f"Replies: IMAP {imap['host']}:{imap['port']} ({imap['tls_mode']}), every "
        f"{imap['poll_seconds']} s — {imap['state']}"
    )
    table = Table("Folder", "Last good sync", "Stored", "Recovery", "Error", box=None)
    for f in imap["sync"]:
        recovery = (
            f"{f['recovery_found']} found {f['last_recovery_at'][:16]}"
            if f["last_recovery_at"]
            else "—"
        )
        table.add_row(
            f["folder"], (f["last_good_sync_at"] or "never")[:19], str(f["stored_total"]),
            recovery, f"[red]{f['last_error']}[/red]" if f["last_error"] else "",
        )  # fmt: skip
    console.print(table)

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
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from leadflood.mailboxes.schemas import MailboxHealth
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


def _in_workspace(
    data_dir: Path | None,
    workspace: str | None,
    work: Callable[[AsyncSession, Runtime, uuid.UUID], Awaitable[T]],
) -> T:
    async def run(session: AsyncSession, runtime: Runtime) -> T:
        found = await find_workspace(session, workspace)
        return await work(session, runtime, found.id)

    return in_session(settings_from(data_dir), run)


def _read(mailbox: Mailbox, health: MailboxHealth | None = None) -> dict[str, Any]:
    from leadflood.mailboxes import service as mailboxes
    from leadflood.mailboxes.schemas import MailboxRead

    fields = {k: getattr(mailbox, k) for k in MailboxRead.model_fields if hasattr(mailbox, k)}
    read = MailboxRead.model_validate(
        fields
        | {
            "settings": mailboxes.settings_of(mailbox),
            "has_secret": mailbox.secret_id is not None,
            "has_dkim_key": mailbox.dkim_key_id is not None,
            "health": health,
        }
    )
    result: dict[str, Any] = read.model_dump(mode="json")
    return result


def _create(
    payload: dict[str, object], workspace: str | None, data_dir: Path | None, as_json: bool
) -> None:
    from leadflood.mailboxes import service as mailboxes
    from leadflood.mailboxes.schemas import MailboxCreate

    try:
        data = MailboxCreate.model_validate({k: v for k, v in payload.items() if v is not None})
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"]) or "input"
            err.print(f"[red]{field}[/red]: {str(error['msg']).removeprefix('Value error, ')}")
        raise typer.Exit(2) from None

    async def work(
        session: AsyncSession, runtime: Runtime, workspace_id: uuid.UUID
    ) -> dict[str, Any]:
        return _read(await mailboxes.create(session, workspace_id, data))

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
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Add an SMTP mailbox; the server is connected to and logged in to before it is saved."""
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
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Add a mailbox sending through Resend, Postmark or SendGrid."""
    payload: dict[str, object] = {
        "name": name,
        "provider": provider,
        "from_email": from_email,
        "api_key": api_key,
    }
    payload |= _sending(from_name, daily_cap, min_gap, jitter, warmup, warmup_increment)
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
        health = await mailboxes.health(session, rows)
        return [_read(m, health[m.id]) for m in rows]

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
        return _read(await change(session, workspace_id, mailbox))

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

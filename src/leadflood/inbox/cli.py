"""`leadflood inbox ...`: the inbox from the command line: list threads, show one, reply from
it (the same use cases as the API and the Inbox page), and classify a raw message."""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from leadflood.console import (
    DataDir,
    Json,
    WorkspaceOption,
    console,
    err,
    find_workspace,
    in_session,
    page_json,
    settings_from,
    shell_member,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from leadflood.runtime import Runtime

app = typer.Typer(
    help="The inbox: inbound replies, bounces and auto-replies.", no_args_is_help=True
)


@app.command("classify")
def classify(
    file: Annotated[Path, typer.Argument(help="A raw message (.eml), as received.")],
    as_json: Json = False,
) -> None:
    """Classify one raw message with the current rules; nothing is stored."""
    from leadflood.inbox import rules

    try:
        raw = file.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        typer.echo(f"unreadable_file: cannot read {file}: {reason}.", err=True)
        raise typer.Exit(2) from None
    result = rules.classify(raw)
    if as_json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return
    table = Table(show_header=False, box=None)
    for key, value in result.to_json().items():
        if key == "evidence" or value is None:
            continue
        table.add_row(f"[bold]{key}[/bold]", str(value))
    console.print(table)
    console.print("[bold]evidence[/bold]")
    for line in result.evidence:
        console.print(f"  • {line}", highlight=False, markup=False)


@app.command("reclassify")
def reclassify_command(
    data_dir: DataDir = None,
    workspace: WorkspaceOption = None,
    as_json: Json = False,
) -> None:
    """Classify the workspace's stored mail again with the current rules (after an upgrade).
    Messages a person corrected stay; a message now read as an opt-out or a hard bounce
    suppresses the person; otherwise only its label changes."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from leadflood.console import build_runtime, clean_errors, run
    from leadflood.inbox import reclassify
    from leadflood.inbox.rules import RULES_VERSION

    runtime = build_runtime(settings_from(data_dir))

    async def main() -> reclassify.Progress:
        try:
            async with runtime.db.session() as session:
                member = shell_member(await find_workspace(session, workspace))
                stale = await reclassify.count_stale(session, member.workspace_id)
            columns = (TextColumn("[bold]Re-classifying"), BarColumn(), MofNCompleteColumn())
            with Progress(*columns, console=err, transient=as_json) as bar:
                task = bar.add_task("mail", total=stale)
                return await reclassify.run(
                    runtime.db, member.workspace_id, now=datetime.now(UTC), by=member,
                    on_page=lambda done: bar.advance(task, done.checked),
                )  # fmt: skip
        finally:
            await runtime.aclose()

    with clean_errors():
        done = run(main)
    figures = {"version": RULES_VERSION, "checked": done.checked, "changed": done.changed,
               "acted": done.acted}  # fmt: skip
    if as_json:
        typer.echo(json.dumps(figures))
        return
    console.print(
        f"Read {done.checked:,} message(s) with rules {RULES_VERSION}: {done.changed:,} "
        f"changed label, {done.acted:,} led to a suppression."
    )


STATES = ("open", "done", "all")
ThreadId = Annotated[uuid.UUID, typer.Argument(help="The thread's id (`leadflood inbox list`).")]


@app.command("list")
def list_threads(
    label: Annotated[str | None, typer.Option(help="interested, out_of_office, …")] = None,
    unread: Annotated[bool, typer.Option("--unread", help="Only unread threads.")] = False,
    state: Annotated[str, typer.Option(help=" | ".join(STATES))] = "open",
    mailbox: Annotated[uuid.UUID | None, typer.Option(help="A mailbox's id.")] = None,
    sequence: Annotated[uuid.UUID | None, typer.Option(help="A sequence's id.")] = None,
    assignee: Annotated[str | None, typer.Option(help="A member's email, or `none`.")] = None,
    lead: Annotated[uuid.UUID | None, typer.Option(help="A lead's id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    cursor: Annotated[str | None, typer.Option(help="`next_cursor` of the page before.")] = None,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Threads of every mailbox, latest activity first (open ones unless --state)."""
    from leadflood.auth import service as accounts
    from leadflood.auth.errors import MemberNotFound
    from leadflood.inbox import queries
    from leadflood.models import ThreadState

    if state not in STATES:
        err.print(f"[red]state[/red]: one of {', '.join(STATES)}")
        raise typer.Exit(2)

    async def work(session: AsyncSession, runtime: Runtime) -> dict[str, Any]:
        found = await find_workspace(session, workspace)
        assignee_id, unassigned = None, assignee == "none"
        if assignee is not None and not unassigned:
            user = await accounts.user_by_email(session, assignee)
            if user is None:
                raise MemberNotFound(f"No member with the email {assignee!r}.")
            assignee_id = user.id
        wanted = queries.ThreadFilter(
            label=label, unread=True if unread else None, mailbox_id=mailbox,
            sequence_id=sequence, assignee_id=assignee_id, unassigned=unassigned,
            state=None if state == "all" else ThreadState(state), lead_id=lead,
        )  # fmt: skip
        page = await queries.list_threads(session, found.id, wanted, limit=limit, cursor=cursor)
        return page_json(page, lambda row: row.model_dump(mode="json"))

    result = in_session(settings_from(data_dir), work)
    if as_json:
        console.print_json(json.dumps(result))
        return
    if not result["items"]:
        console.print("No thread here: replies to your sequences appear once the inbox syncs.")
        return
    table = Table(box=None)
    table.add_column("ID", no_wrap=True, min_width=36)
    for title in ("", "With", "Subject", "Label", "State", "Last"):
        table.add_column(title)
    for t in result["items"]:
        table.add_row(
            t["id"],
            "●" if t["unread"] else "",
            escape(t["lead_name"] or t["lead_email"] or "—"),
            escape(t["subject"] or "(no subject)"),
            t["label"] or t["kind"] or "—",
            t["state"],
            t["last_message_at"][:16].replace("T", " "),
        )
    console.print(table)
    if result["next_cursor"]:
        console.print(f"More: --cursor {result['next_cursor']}", highlight=False)


@app.command("show")
def show(
    thread_id: ThreadId,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """One thread: every message in both directions (delivery status of ours, the label and
    its evidence of theirs)."""
    from leadflood.inbox import queries

    async def work(session: AsyncSession, runtime: Runtime) -> dict[str, Any]:
        found = await find_workspace(session, workspace)
        thread = await queries.get_thread(session, found.id, thread_id)
        return (await queries.thread_detail(session, thread)).model_dump(mode="json")

    detail = in_session(settings_from(data_dir), work)
    if as_json:
        console.print_json(json.dumps(detail))
        return
    who = detail["lead_name"] or detail["lead_email"] or "—"
    console.print(f"[bold]{escape(detail['subject'] or '(no subject)')}[/bold] with {escape(who)}")
    console.print(
        f"{detail['state']}{', unread' if detail['unread'] else ''}"
        f"{', label ' + detail['label'] if detail['label'] else ''}",
        highlight=False,
    )
    for m in detail["messages"]:
        when = (m["sent_at"] or m["created_at"])[:16].replace("T", " ")
        console.print()
        if m["direction"] == "inbound":
            c = m["classification"] or {}
            label = c.get("label") or c.get("kind") or ""
            by = " (corrected)" if c.get("corrected_at") else ""
            console.print(
                f"[cyan]← {escape(m['from_address'] or '')}[/cyan]  {when}  {label}{by}",
                highlight=False,
            )
            for line in c.get("evidence") or []:
                console.print(f"  • {line}", highlight=False, markup=False)
        else:
            console.print(
                f"[green]→ {escape(m['to_address'])}[/green]  {when}  {m['status']}",
                highlight=False,
            )
        console.print(m["body_text"].strip(), highlight=False, markup=False)


@app.command("reply")
def reply(
    thread_id: ThreadId,
    body: Annotated[
        str | None, typer.Option(help="The reply's text; `-` reads it from standard input.")
    ] = None,
    subject: Annotated[
        str | None, typer.Option(help="Default: Re: <the thread's subject>.")
    ] = None,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Reply from a thread through its mailbox, threaded to the latest message received; it
    leaves at once (outside the sending window too), within the mailbox's daily cap."""
    from pydantic import ValidationError

    from leadflood.inbox import service as inbox
    from leadflood.inbox.schemas import ReplyRequest, ThreadMessage

    text = sys.stdin.read() if body == "-" else body
    try:
        data = ReplyRequest(body=text or "", subject=subject)
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = ".".join(str(p) for p in problem["loc"])
        err.print(f"[red]validation_error[/red]: {field}: {problem['msg']}")
        raise typer.Exit(2) from None

    async def work(session: AsyncSession, runtime: Runtime) -> dict[str, Any]:
        found = await find_workspace(session, workspace)
        message = await inbox.reply(
            session, runtime.settings, thread_id, data, by=shell_member(found),
            now=datetime.now(UTC),
        )  # fmt: skip
        return ThreadMessage.model_validate(message).model_dump(mode="json")

    message = in_session(settings_from(data_dir), work)
    if as_json:
        console.print_json(json.dumps(message))
        return
    console.print(
        f"Queued {message['id']} to {message['to_address']}: {message['subject']}",
        highlight=False,
    )


@app.command("correct")
def correct(
    message_id: Annotated[
        uuid.UUID, typer.Argument(help="The inbound message's id (`leadflood inbox show`).")
    ],
    kind: Annotated[
        str, typer.Option(help="reply, auto_reply, bounce, bounce_warning, unsubscribe, complaint.")
    ],
    label: Annotated[
        str | None,
        typer.Option(
            help="A label of that kind (interested, out_of_office, user_unknown, …); "
            "none for unsubscribe."
        ),
    ] = None,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Correct the label of an inbound message (as the API and the thread page do): the new
    label's effects apply as the rules' would (a reply stops the enrollment, an opt-out or a
    hard bounce suppresses, an out-of-office pauses); the former label's are not undone: the
    answer says which still hold and how to undo them by hand."""
    from pydantic import ValidationError

    from leadflood.inbox import service as inbox
    from leadflood.inbox.schemas import ClassificationUpdate, CorrectionRead

    try:
        data = ClassificationUpdate.model_validate({"kind": kind, "label": label})
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = ".".join(str(p) for p in problem["loc"])
        said = str(problem["msg"]).removeprefix("Value error, ")
        err.print(f"[red]validation_error[/red]: {field + ': ' if field else ''}{escape(said)}")
        raise typer.Exit(2) from None

    async def work(session: AsyncSession, runtime: Runtime) -> dict[str, Any]:
        found = await find_workspace(session, workspace)
        done = await inbox.correct(
            session, message_id, data, by=shell_member(found), now=datetime.now(UTC)
        )
        read = CorrectionRead.of(done.message, done.effects, done.in_place)
        return read.model_dump(mode="json")

    result = in_session(settings_from(data_dir), work)
    if as_json:
        console.print_json(json.dumps(result))
        return
    c = result["classification"] or {}
    named = f"{c.get('kind')} / {c.get('label')}" if c.get("label") else str(c.get("kind"))
    console.print(f"Message {result['id']} is now {named}.", highlight=False)
    for sentence in result["applied"]:
        console.print(f"  • {sentence}", highlight=False, markup=False)
    if result["not_undone"]:
        console.print("[bold]Not undone by the correction:[/bold]")
    for kept in result["not_undone"]:
        console.print(f"  • {kept['text']} {kept['how']}", highlight=False, markup=False)
        if kept["command"]:
            console.print(f"    {kept['command']}", highlight=False, markup=False)

"""`leadflood suppressions ...`: who must never be contacted (workspace-wide, or instance-wide
with --global, which only the command line on the server may add without an owner's flag)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.table import Table

from leadflood.console import (
    DataDir,
    Json,
    WorkspaceOption,
    console,
    find_workspace,
    in_session,
    settings_from,
    shell_member,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from leadflood.auth.principal import CurrentMember
    from leadflood.models import Suppression
    from leadflood.runtime import Runtime

T = TypeVar("T")
app = typer.Typer(help="The suppression list: never contact these.", no_args_is_help=True)

Global = Annotated[bool, typer.Option("--global", help="For every workspace of this instance.")]


def _in_workspace(
    data_dir: Path | None,
    workspace: str | None,
    work: Callable[[AsyncSession, Runtime, CurrentMember], Awaitable[T]],
) -> T:
    """Runs `work(session, runtime, member)`, acting in the named workspace as the command
    line (so in the audit log)."""

    async def run(session: AsyncSession, runtime: Runtime) -> T:
        return await work(session, runtime, shell_member(await find_workspace(session, workspace)))

    return in_session(settings_from(data_dir), run)


def _read(row: Suppression) -> dict[str, Any]:
    from leadflood.suppressions.schemas import SuppressionRead

    fields = {k: getattr(row, k) for k in SuppressionRead.model_fields if k != "scope"}
    scope = "global" if row.workspace_id is None else "workspace"
    result: dict[str, Any] = SuppressionRead.model_validate(fields | {"scope": scope}).model_dump(
        mode="json"
    )
    return result


@app.command("add")
def add(
    value: Annotated[str, typer.Argument(help="An email, domain, phone or LinkedIn URL.")],
    kind: Annotated[
        str | None, typer.Option(help="email | domain | phone | linkedin (default: guessed).")
    ] = None,
    reason: Annotated[
        str, typer.Option(help="manual | do_not_contact | unsubscribed | bounced | complained")
    ] = "manual",
    note: Annotated[str, typer.Option()] = "",
    global_: Global = False,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Suppress one value (idempotent: an existing entry is kept as it was)."""
    from leadflood.suppressions import service as suppression

    async def work(
        session: AsyncSession, runtime: Runtime, member: CurrentMember
    ) -> dict[str, Any]:
        guessed = kind or suppression.guess_kind(value).value
        row = await suppression.add(
            session,
            None if global_ else member.workspace_id,
            guessed,
            value,
            reason,
            "cli",
            note=note,
            by=member,
        )
        return _read(row)

    row = _in_workspace(data_dir, workspace, work)
    if as_json:
        console.print_json(json.dumps(row))
    else:
        console.print(f"Suppressed {row['kind']} [bold]{row['value']}[/bold] ({row['scope']}).")


@app.command("list")
def list_suppressions(
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    search: Annotated[str | None, typer.Option("--search", "-q")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 100,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """This workspace's entries and the instance-wide ones, newest first."""
    from leadflood.models import SuppressionKind
    from leadflood.suppressions import service as suppression

    async def work(
        session: AsyncSession, runtime: Runtime, member: CurrentMember
    ) -> list[dict[str, Any]]:
        rows = (
            await suppression.list_suppressions(
                session,
                member.workspace_id,
                limit=limit,
                kind=SuppressionKind(kind) if kind else None,
                search=search,
            )
        ).items
        return [_read(r) for r in rows]

    items = _in_workspace(data_dir, workspace, work)
    if as_json:
        console.print_json(json.dumps(items))
        return
    table = Table("ID", "Kind", "Value", "Reason", "Source", "Scope", "When", box=None)
    for s in items:
        table.add_row(
            s["id"], s["kind"], s["value"], s["reason"], s["source"] or "—", s["scope"],
            s["created_at"][:16],
        )  # fmt: skip
    console.print(table if items else "The suppression list is empty.")


@app.command("import")
def import_file(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    global_: Global = False,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Import a CSV: a `value` (or first) column and an optional `kind` column."""
    from leadflood.suppressions import service as suppression

    content = path.read_bytes()

    async def work(
        session: AsyncSession, runtime: Runtime, member: CurrentMember
    ) -> dict[str, Any]:
        report = await suppression.import_csv(
            session,
            None if global_ else member.workspace_id,
            content,
            source=f"cli:{path.name}"[:80],
            by=member,
        )
        return {"added": report.added, "existing": report.existing, "rejected": report.rejected}

    report = _in_workspace(data_dir, workspace, work)
    if as_json:
        console.print_json(json.dumps(report))
        return
    console.print(
        f"Added {report['added']}, already there {report['existing']}, "
        f"rejected {len(report['rejected'])}."
    )
    for row in report["rejected"][:20]:
        console.print(f"  line {row['line']}: {row['value']} — {row['error']}")


@app.command("remove")
def remove(
    suppression_id: Annotated[uuid.UUID, typer.Argument(help="The entry's id (see `list`).")],
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Remove an entry (the server's command line may also remove instance-wide ones)."""
    from leadflood.suppressions import service as suppression

    async def work(
        session: AsyncSession, runtime: Runtime, member: CurrentMember
    ) -> dict[str, str]:
        await suppression.delete_suppression(
            session, member.workspace_id, suppression_id, may_global=True, by=member
        )
        return {"removed": str(suppression_id)}

    result = _in_workspace(data_dir, workspace, work)
    if as_json:
        console.print_json(json.dumps(result))
    else:
        console.print("Removed.")

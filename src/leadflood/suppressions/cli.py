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


# `leadflood leads delete|erase`: mounted on the leads commands (leadflood/cli.py), as removing
# people stops their outreach, which this feature owns.


def delete_leads(
    lead: Annotated[
        str | None,
        typer.Argument(help="The lead's id (or its first 8 characters) or email."),
    ] = None,
    filters: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            help="KEY=VALUE, repeatable: delete every lead matching (status, verification, "
            "score_min, score_max, icp_id, company_domain, q).",
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
) -> None:
    """Delete one lead, or every lead matching --filter (asks once with the count). Their
    sequences stop first; sent messages stay in the history."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from leadflood.console import build_runtime, clean_errors, err, run
    from leadflood.leads import queries
    from leadflood.leads import service as leads
    from leadflood.leads.cli_support import parse_filter
    from leadflood.leads.schemas import BulkRequest
    from leadflood.suppressions import erasure

    if (lead is None) == (filters is None):
        err.print("[red]validation_error[/red]: give a lead, or --filter (not both)")
        raise typer.Exit(2)
    if lead is not None:

        async def one(session: AsyncSession, runtime: Runtime, member: CurrentMember) -> str:
            target = await leads.find(session, member.workspace_id, lead)
            name = target.email or str(target.id)
            if not yes and not typer.confirm(f"Delete {name}?", err=True):
                raise typer.Abort()
            await erasure.delete_lead(session, member.workspace_id, target.id, by=member)
            return name

        console.print(f"Deleted {_in_workspace(data_dir, workspace, one)}.")
        return

    where = parse_filter(filters)
    runtime = build_runtime(settings_from(data_dir))

    async def main() -> int:
        try:
            async with runtime.db.session() as session:
                member = shell_member(await find_workspace(session, workspace))
                total = await queries.count_matching(session, member.workspace_id, where, cap=10**9)
                if not total:
                    return 0
                if not yes and not typer.confirm(
                    f"Delete {total:,} lead{'' if total == 1 else 's'}? Their sequences stop; "
                    "this cannot be undone.",
                    err=True,
                ):
                    raise typer.Abort()
                await erasure.record_bulk_delete(
                    session, member, BulkRequest(filter=where), total, operation_id=None
                )
            progress = Progress(
                TextColumn("[bold]Deleting"), BarColumn(), MofNCompleteColumn(), console=err
            )
            task = progress.add_task("delete", total=total)
            deleted = 0
            with progress:
                while True:  # one transaction per page: a stop loses at most a page's work
                    async with runtime.db.session() as session:
                        ids = await queries.ids_matching(
                            session, member.workspace_id, where, after=None, limit=500
                        )
                        if not ids:
                            break
                        deleted += await erasure.delete_leads(session, member.workspace_id, ids)
                    progress.advance(task, len(ids))
            return deleted
        finally:
            await runtime.aclose()

    with clean_errors():
        deleted = run(main)
    console.print(f"Deleted {deleted:,} lead{'' if deleted == 1 else 's'}.")


def erase_lead(
    lead: Annotated[
        str, typer.Argument(help="The lead's id (or its first 8 characters) or email.")
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Erase a person (a data-subject request): outreach stops, their data is removed from the
    lead, its messages, enrichment and search results; they stay only as one-way digests in the
    suppression list, so they are never imported or contacted again. Cannot be undone."""
    from leadflood.leads import service as leads
    from leadflood.suppressions import erasure

    async def work(
        session: AsyncSession, runtime: Runtime, member: CurrentMember
    ) -> dict[str, Any]:
        target = await leads.find(session, member.workspace_id, lead)
        if not yes and not typer.confirm(
            f"Erase {target.email or target.id} for good? This cannot be undone.", err=True
        ):
            raise typer.Abort()
        return await erasure.erase_person(session, member.workspace_id, target.id, member)

    report = _in_workspace(data_dir, workspace, work)
    if as_json:
        console.print_json(json.dumps(report))
        return
    kinds = ", ".join(report["identities_hashed"]) or "none"
    console.print(
        f"Erased. Kept as one-way digests in the suppression list: {kinds}. "
        f"Sequences stopped: {report['enrollments_stopped']}."
    )

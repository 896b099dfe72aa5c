"""`leadflood leads import FILE`: a CSV import run in this process, through the same service
as the API and the web UI."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from leadflood.console import (
    DataDir,
    Json,
    WorkspaceOption,
    build_runtime,
    clean_errors,
    console,
    err,
    find_workspace,
    run,
    settings_from,
)
from leadflood.models import ImportState, LeadImport, OnDuplicate

COUNTS = ("rows_read", "created", "updated", "skipped", "rejected", "warned")


def _overrides(pairs: list[str]) -> dict[str, str | None]:
    overrides: dict[str, str | None] = {}
    for pair in pairs:
        column, sep, target = pair.partition("=")
        if not sep or not column.strip():
            err.print(f'[red]validation_error[/red]: --map {pair!r} is not "Column=field"')
            raise typer.Exit(2)
        overrides[column.strip()] = target.strip() or None
    return overrides


def import_leads(
    file: Annotated[
        Path,
        typer.Argument(help="The CSV file.", exists=True, dir_okay=False, readable=True),
    ],
    workspace: WorkspaceOption = None,
    on_duplicate: Annotated[
        OnDuplicate,
        typer.Option("--on-duplicate", help="What to do with a row whose lead already exists."),
    ] = OnDuplicate.skip,
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help='Override a column: "Column=field", "Column=custom:name", or "Column=" to '
            "ignore it. Repeatable.",
            show_default=False,
        ),
    ] = None,
    rejected_out: Annotated[
        Path | None,
        typer.Option(
            "--rejected-out", help="Write the rejected rows, with reasons, to this CSV file."
        ),
    ] = None,
    warnings_out: Annotated[
        Path | None,
        typer.Option(
            "--warnings-out",
            help="Write the rows kept without some of their values (which, and why) to this "
            "CSV file.",
        ),
    ] = None,
    into_list: Annotated[
        str | None,
        typer.Option(
            "--list", help="A list (id or name) the imported leads, created and updated, join."
        ),
    ] = None,
    icp: Annotated[
        uuid.UUID | None,
        typer.Option(
            "--icp",
            help="An ICP (its id) to score the imported leads against; default: each "
            "lead's best-fitting ICP.",
        ),
    ] = None,
    data_dir: DataDir = None,
    json_output: Json = False,
) -> None:
    """Import leads from a CSV file: columns mapped automatically, rows validated and
    deduplicated; prints created / updated / skipped / rejected, and how many rows were kept
    without an unusable value (warnings). National phone numbers are read with the row's
    country, else the workspace's default country (`leadflood settings default-country`)."""
    from leadflood.imports import pipeline as import_pipeline
    from leadflood.imports import service as importing
    from leadflood.leads import lists

    overrides = _overrides(mapping or [])
    settings = settings_from(data_dir)
    runtime = build_runtime(settings)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
        console=console,
        disable=json_output,
    )

    async def main() -> LeadImport:
        try:
            async with runtime.db.session() as session:
                found = await find_workspace(session, workspace)
                target = await lists.find(session, found.id, into_list) if into_list else None
                imp = await importing.create_from_path(
                    session,
                    settings,
                    found.id,
                    file,
                    on_duplicate=on_duplicate,
                    overrides=overrides,
                    list_id=target.id if target else None,
                    icp_id=icp,
                )
            task = progress.add_task(
                f"Importing {imp.file_name}", total=imp.rows_estimate or None, counts=""
            )

            def show(current: LeadImport) -> None:
                counts = (
                    f"created {current.created:,} · updated {current.updated:,} · "
                    f"skipped {current.skipped:,} · rejected {current.rejected:,} · "
                    f"warnings {current.warned:,}"
                )
                total = max(current.rows_estimate or 0, current.rows_read)
                progress.update(task, completed=current.rows_read, total=total, counts=counts)

            with progress:
                done = await import_pipeline.run(runtime.db, settings, imp.id, on_progress=show)
                progress.update(task, completed=done.rows_read, total=done.rows_read)
            if rejected_out is not None:
                with rejected_out.open("w", encoding="utf-8", newline="") as out:
                    async for text in importing.rejected_csv(runtime.db, settings, done):
                        out.write(text)
            if warnings_out is not None:
                with warnings_out.open("w", encoding="utf-8", newline="") as out:
                    async for text in importing.warnings_csv(runtime.db, settings, done):
                        out.write(text)
            return done
        finally:
            await runtime.aclose()

    with clean_errors():
        done = run(main)
    result = {
        "import_id": str(done.id),
        "file": str(file),
        "state": done.state.value,
        "on_duplicate": done.on_duplicate.value,
        "list_id": str(done.list_id) if done.list_id else None,
        "icp_id": str(done.icp_id) if done.icp_id else None,
        "rows": done.rows_read,
        **{name: getattr(done, name) for name in COUNTS},
        "error": done.error,
        "rejected_csv": str(rejected_out) if rejected_out and done.rejected else None,
        "warnings_csv": str(warnings_out) if warnings_out and done.warned else None,
        "enrichment": "not_started",
    }
    if json_output:
        sys.stdout.write(json.dumps(result) + "\n")
    elif done.state == ImportState.completed:
        console.print(
            f"[green]Imported[/green] {done.rows_read:,} rows: {done.created:,} created, "
            f"{done.updated:,} updated, {done.skipped:,} skipped, {done.rejected:,} rejected."
        )
        if done.warned:
            hint = (
                f" (reasons in {warnings_out})" if warnings_out else " (--warnings-out lists them)"
            )
            console.print(
                f"[yellow]{done.warned:,} rows kept without a value that was not usable[/yellow]"
                f"{hint}."
            )
        if done.created:
            console.print(
                "Imported leads are not enriched automatically: run `leadflood leads enrich` "
                "to find missing emails and details."
            )
    if done.state != ImportState.completed:
        err.print(f"[red]import_failed[/red]: {done.error}")
        raise typer.Exit(1)

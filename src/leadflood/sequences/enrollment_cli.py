"""`leadflood sequences enrollments ...`: who is in a sequence, and pausing, resuming or stopping
enrollments one by one or in bulk (the same as the enrollment page's buttons)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from leadflood.console import DataDir, Json, WorkspaceOption, console, err
from leadflood.sequences import cli_support as support

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from leadflood.runtime import Runtime

app = typer.Typer(help="Enrollments: list them; pause, resume or stop them.", no_args_is_help=True)

STATES = ("active", "paused", "completed", "stopped")
Ids = Annotated[list[uuid.UUID], typer.Argument(help="One or more enrollment ids.")]


@app.command("list")
def list_enrollments(
    sequence: Annotated[str, typer.Argument(help="The sequence's id or exact name.")],
    state: Annotated[str | None, typer.Option(help=" | ".join(STATES))] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """A sequence's enrollments, newest first: state, stop reason, and what each active one
    waits for (its next step in the lead's time, or why its queued email is held back)."""
    from leadflood.models import EnrollmentState
    from leadflood.sequences import enrollment, queries

    if state is not None and state not in STATES:
        err.print(f"[red]state[/red]: one of {', '.join(STATES)}")
        raise typer.Exit(2)

    async def work(
        session: AsyncSession, runtime: Runtime, workspace_id: uuid.UUID
    ) -> list[dict[str, Any]]:
        sequence_id = await support.resolve(session, workspace_id, sequence)
        rows = (await enrollment.list_page(
            session, workspace_id, sequence_id, limit=limit,
            state=EnrollmentState(state) if state else None,
        )).items  # fmt: skip
        found = await queries.enrollment_rows(session, workspace_id, rows)
        return [row.model_dump(mode="json") for row in found]

    items = support.in_workspace(data_dir, workspace, work)
    if as_json:
        console.print_json(json.dumps(items))
        return
    if not items:
        console.print("Nobody is enrolled yet: `leadflood sequences enroll …`.")
        return
    table = Table(box=None)
    table.add_column("ID", no_wrap=True, min_width=36)  # whole: the other commands take it
    for title in ("Lead", "State", "Waiting for"):
        table.add_column(title)
    for i in items:
        table.add_row(
            i["id"],
            i["lead_email"] or i["lead_id"],
            i["state"] + (f" ({i['stop_reason']})" if i["stop_reason"] else ""),
            _waiting(i),
        )
    console.print(table)


def _waiting(item: dict[str, Any]) -> str:
    """The enrollment page's "Waiting for" cell: times in the lead's zone, named."""
    found = item.get("waiting")
    if not found:
        return f"paused at step {item['next_step']}" if item["state"] == "paused" else "—"
    reason = found.get("reason_text")
    return escape(found["summary"] + (f"\n{reason}" if reason else ""))


def _act(action: str, ids: list[uuid.UUID], workspace: str | None, data_dir: Path | None) -> int:
    from leadflood.sequences import enrollment

    async def work(session: AsyncSession, runtime: Runtime, workspace_id: uuid.UUID) -> int:
        return await enrollment.act(session, workspace_id, action, ids, now=datetime.now(UTC))

    return support.in_workspace(data_dir, workspace, work)


def _report(action: str, done: str, asked: int, changed: int, as_json: bool) -> None:
    from leadflood.sequences.enrollment import ACTION_SOURCES

    if as_json:
        console.print_json(json.dumps({"changed": changed}))
        return
    console.print(f"{changed} of {asked} enrollment{'' if asked == 1 else 's'} {done}.")
    if changed < asked:
        states = " or ".join(ACTION_SOURCES[action])
        console.print(f"Only {states} enrollments of this workspace can be {done}.")


@app.command("pause")
def pause(
    ids: Ids, workspace: WorkspaceOption = None, data_dir: DataDir = None, as_json: Json = False
) -> None:
    """Pause active enrollments; their queued emails wait (planned again on resume)."""
    _report("pause", "paused", len(set(ids)), _act("pause", ids, workspace, data_dir), as_json)


@app.command("resume")
def resume(
    ids: Ids, workspace: WorkspaceOption = None, data_dir: DataDir = None, as_json: Json = False
) -> None:
    """Resume paused enrollments; the delays between steps still hold."""
    _report("resume", "resumed", len(set(ids)), _act("resume", ids, workspace, data_dir), as_json)


@app.command("stop")
def stop(
    ids: Ids, workspace: WorkspaceOption = None, data_dir: DataDir = None, as_json: Json = False
) -> None:
    """Stop enrollments for good; their queued emails are cancelled."""
    _report("stop", "stopped", len(set(ids)), _act("stop", ids, workspace, data_dir), as_json)

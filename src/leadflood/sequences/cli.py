"""`leadflood sequences ...`: build a sequence, enroll leads, preview what a lead would get."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from leadflood.console import DataDir, Json, WorkspaceOption, console, err
from leadflood.sequences import cli_support as support
from leadflood.sequences import enrollment_cli as sequence_enrollments

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from leadflood.runtime import Runtime

app = typer.Typer(help="Sequences: steps, enrollments and previews.", no_args_is_help=True)
app.add_typer(sequence_enrollments.app, name="enrollments")

SequenceArg = Annotated[str, typer.Argument(help="The sequence's id or exact name.")]


@app.command("create")
def create(
    name: Annotated[str, typer.Option(help="The sequence's name.")],
    timezone: Annotated[str, typer.Option(help="Fallback zone when a lead has none.")] = "UTC",
    days: Annotated[str, typer.Option(help="Sending days, 0=Monday … 6=Sunday.")] = "0,1,2,3,4",
    start: Annotated[str, typer.Option(help="Window start, local time.")] = "09:00",
    end: Annotated[str, typer.Option(help="Window end, local time.")] = "17:00",
    postal_address: Annotated[str, typer.Option(help="Footer postal address.")] = "",
    mailbox: Annotated[
        list[uuid.UUID] | None, typer.Option(help="A mailbox id it may send from (repeatable).")
    ] = None,
    description: Annotated[str, typer.Option()] = "",
    min_score: Annotated[
        int | None, typer.Option(help="Skip leads scoring below this (0-100) at enrollment.")
    ] = None,
    require_verified_email: Annotated[
        bool, typer.Option(help="Skip leads whose email is not verified at enrollment.")
    ] = False,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Create a draft sequence."""
    from leadflood.sequences import service as sequences
    from leadflood.sequences.schemas import SequenceCreate

    try:
        day_list = [int(d) for d in days.split(",") if d.strip()]
    except ValueError:
        err.print("[red]days[/red]: give numbers such as 0,1,2,3,4")
        raise typer.Exit(2) from None
    data = support.validate(
        SequenceCreate,
        {
            "name": name,
            "description": description,
            "timezone": timezone,
            "window": {"days": day_list, "start": start, "end": end},
            "postal_address": postal_address,
            "mailbox_ids": mailbox or [],
            "min_score": min_score,
            "require_verified_email": require_verified_email,
        },
    )

    async def work(
        session: AsyncSession, runtime: Runtime, workspace_id: uuid.UUID
    ) -> dict[str, Any]:
        return await support.read_detail(
            session,
            await sequences.create(
                session, workspace_id, data, by=await support.acting(session, workspace_id)
            ),
        )

    support.print_detail(support.in_workspace(data_dir, workspace, work), as_json)


@app.command("entry-rules")
def entry_rules(
    sequence_id: Annotated[uuid.UUID, typer.Argument(help="The sequence's id.")],
    min_score: Annotated[
        int | None, typer.Option(help="Skip leads scoring below this (0-100).")
    ] = None,
    clear_min_score: Annotated[
        bool, typer.Option("--clear-min-score", help="Remove the minimum score.")
    ] = False,
    require_verified_email: Annotated[
        bool | None,
        typer.Option("--require-verified-email/--any-email", help="Require a verified email."),
    ] = None,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Set who may enter a sequence: a minimum score and/or a verified email."""
    from leadflood.sequences import service as sequences
    from leadflood.sequences.schemas import SequenceUpdate

    changes: dict[str, Any] = {}
    if clear_min_score:
        changes["min_score"] = None
    elif min_score is not None:
        changes["min_score"] = min_score
    if require_verified_email is not None:
        changes["require_verified_email"] = require_verified_email
    data = support.validate(SequenceUpdate, changes)

    async def work(
        session: AsyncSession, runtime: Runtime, workspace_id: uuid.UUID
    ) -> dict[str, Any]:
        by = await support.acting(session, workspace_id)
        updated = await sequences.update_settings(session, workspace_id, sequence_id, data, by=by)
        return await support.read_detail(session, updated)

    support.print_detail(support.in_workspace(data_dir, workspace, work), as_json)


@app.command("list")
def list_sequences(
    state: Annotated[str | None, typer.Option(help="draft | active | paused | archived")] = None,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """The workspace's sequences, newest first, with their enrollment counts."""
    from leadflood.models import SequenceState
    from leadflood.sequences import queries
    from leadflood.sequences import service as sequences

    try:
        wanted = SequenceState(state) if state else None
    except ValueError:
        err.print("[red]state[/red]: one of draft, active, paused, archived")
        raise typer.Exit(2) from None

    async def work(
        session: AsyncSession, runtime: Runtime, workspace_id: uuid.UUID
    ) -> list[dict[str, Any]]:
        rows = (await sequences.list_page(session, workspace_id, limit=200, state=wanted)).items
        counts = await queries.counts(session, workspace_id, [r.id for r in rows])
        return [
            {"id": str(r.id), "name": r.name, "state": r.state.value} | counts[r.id].model_dump()
            for r in rows
        ]

    items = support.in_workspace(data_dir, workspace, work)
    if as_json:
        console.print_json(json.dumps(items))
        return
    table = Table("ID", "Name", "State", "Steps", "Enrolled", "Active", "Sent", box=None)
    for i in items:
        table.add_row(
            i["id"],
            i["name"],
            i["state"],
            *(str(i[k]) for k in ("steps", "enrolled", "active", "sent")),
        )
    console.print(table if items else "No sequences yet: `leadflood sequences create --name …`.")


@app.command("show")
def show(
    sequence: SequenceArg,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """A sequence's settings and steps, with its stats."""
    from leadflood.sequences import queries
    from leadflood.sequences import service as sequences

    async def work(
        session: AsyncSession, runtime: Runtime, workspace_id: uuid.UUID
    ) -> dict[str, Any]:
        sequence_id = await support.resolve(session, workspace_id, sequence)
        detail = await support.read_detail(
            session, await sequences.get(session, workspace_id, sequence_id)
        )
        stats = await queries.report(session, workspace_id, sequence_id)
        return detail | {"stats": stats.model_dump(mode="json")}

    detail = support.in_workspace(data_dir, workspace, work)
    support.print_detail(detail, as_json)
    if not as_json:
        stats = detail["stats"]
        states = ", ".join(f"{k} {v}" for k, v in stats["enrollments"].items() if v)
        console.print(f"Enrolled {stats['enrolled']}" + (f": {states}." if states else "."))


@app.command("add-step")
def add_step(
    sequence: SequenceArg,
    body: Annotated[str, typer.Option(help="The email body (a template).")],
    subject: Annotated[str, typer.Option(help="Empty: a reply in the same thread.")] = "",
    delay: Annotated[int, typer.Option(help="Wait this long after the previous step.")] = 0,
    unit: Annotated[str, typer.Option(help="hours | days | business_days")] = "business_days",
    position: Annotated[int | None, typer.Option(help="Insert here (default: at the end).")] = None,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Add an email step; its templates are checked now."""
    from leadflood.sequences import steps
    from leadflood.sequences.schemas import StepCreate

    data = support.validate(
        StepCreate,
        {
            "position": position,
            "delay_amount": delay,
            "delay_unit": unit,
            "variants": [{"subject": subject, "body": body}],
        },
    )

    async def work(
        session: AsyncSession, runtime: Runtime, workspace_id: uuid.UUID
    ) -> dict[str, Any]:
        sequence_id = await support.resolve(session, workspace_id, sequence)
        return await support.read_detail(
            session,
            await steps.add(
                session,
                workspace_id,
                sequence_id,
                data,
                by=await support.acting(session, workspace_id),
            ),
        )

    support.print_detail(support.in_workspace(data_dir, workspace, work), as_json)


def _transition(
    sequence: str, action: str, workspace: str | None, data_dir: Path | None, as_json: bool
) -> None:
    from leadflood.sequences import service as sequences
    from leadflood.sequences.errors import SequenceNotReady

    async def work(
        session: AsyncSession, runtime: Runtime, workspace_id: uuid.UUID
    ) -> dict[str, Any]:
        sequence_id = await support.resolve(session, workspace_id, sequence)
        try:
            await sequences.apply_action(
                session,
                workspace_id,
                sequence_id,
                action,
                now=datetime.now(UTC),
                links_problem=runtime.settings.private_links_problem,
                by=await support.acting(session, workspace_id),
            )
        except SequenceNotReady as exc:
            problems = exc.details.get("problems", []) if isinstance(exc.details, dict) else []
            said = [str(p.get("message") or p.get("problem")) for p in problems]
            raise SequenceNotReady(f"{exc.message} {' '.join(said)}".strip()) from None
        return await support.read_detail(
            session, await sequences.get(session, workspace_id, sequence_id)
        )

    detail = support.in_workspace(data_dir, workspace, work)
    if as_json:
        console.print_json(json.dumps(detail))
    else:
        console.print(f"[bold]{detail['name']}[/bold] is now {detail['state']}.")


@app.command("activate")
def activate(
    sequence: SequenceArg,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Start sending (draft or paused → active); says what is missing if it cannot."""
    _transition(sequence, "activate", workspace, data_dir, as_json)


@app.command("pause")
def pause(
    sequence: SequenceArg,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Stop sending for now; unsent messages are planned again on activate."""
    _transition(sequence, "pause", workspace, data_dir, as_json)


@app.command("resume")
def resume(
    sequence: SequenceArg,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Send again after a pause (paused → active)."""
    _transition(sequence, "resume", workspace, data_dir, as_json)


@app.command("archive")
def archive(
    sequence: SequenceArg,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """End the sequence for good: every enrollment stops."""
    _transition(sequence, "archive", workspace, data_dir, as_json)


def _filter(pairs: list[str]) -> dict[str, str | list[str]]:
    result: dict[str, str | list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            err.print(f"[red]filter[/red]: {pair!r} is not KEY=VALUE")
            raise typer.Exit(2)
        result[key.strip()] = value.split(",") if key.strip() == "verification" else value.strip()
    return result


@app.command("enroll")
def enroll(
    sequence: SequenceArg,
    lead: Annotated[list[uuid.UUID] | None, typer.Option(help="A lead id (repeatable).")] = None,
    filter_: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            help="KEY=VALUE on leads (q, status, min_score, max_score, icp_id, verification, "
            "company_id); repeatable.",
        ),
    ] = None,
    search_run: Annotated[
        uuid.UUID | None, typer.Option(help="Every lead of a search run.")
    ] = None,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Enroll leads; skipped ones are counted by reason."""
    from leadflood.sequences import enrollment
    from leadflood.sequences.api_schemas import EnrollBody

    body = support.validate(
        EnrollBody,
        {
            "lead_ids": lead or None,
            "filter": _filter(filter_) if filter_ else None,
            "search_run_id": search_run,
        },
    )

    async def work(
        session: AsyncSession, runtime: Runtime, workspace_id: uuid.UUID
    ) -> dict[str, Any]:
        sequence_id = await support.resolve(session, workspace_id, sequence)
        result = await enrollment.enroll(
            session, workspace_id, sequence_id, body.as_request(), now=datetime.now(UTC)
        )
        return result.model_dump()

    result = support.in_workspace(data_dir, workspace, work)
    if as_json:
        console.print_json(json.dumps(result))
        return
    skipped = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in result["skipped"].items() if v)
    console.print(f"Enrolled {result['enrolled']}." + (f" Skipped: {skipped}." if skipped else ""))


@app.command("preview")
def preview(
    sequence: SequenceArg,
    lead: Annotated[uuid.UUID, typer.Option(help="The lead to render the steps for.")],
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """A dry run: when each step would go to this lead and what it would say."""
    from leadflood.db.scope import get_scoped
    from leadflood.leads.service import LeadNotFound
    from leadflood.models import Lead
    from leadflood.sequences import preview as previews
    from leadflood.sequences import service as sequences

    async def work(
        session: AsyncSession, runtime: Runtime, workspace_id: uuid.UUID
    ) -> list[dict[str, Any]]:
        sequence_id = await support.resolve(session, workspace_id, sequence)
        row = await sequences.get(session, workspace_id, sequence_id)
        found = await get_scoped(session, Lead, workspace_id, lead, error=LeadNotFound)
        planned = await previews.timeline(
            session, row, found, datetime.now(UTC), settings=runtime.settings
        )
        return [p.model_dump(mode="json") for p in planned]

    planned = support.in_workspace(data_dir, workspace, work)
    if as_json:
        console.print_json(json.dumps(planned))
        return
    for step in planned:
        console.print(
            f"[bold]Step {step['position']}[/bold] ({step['variant']}) — {step['local_time']} "
            f"{step['timezone']}\n[bold]Subject:[/bold] {step['subject']}\n{step['body']}\n"
        )

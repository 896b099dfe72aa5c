"""What the `leadflood sequences` commands share: the workspace session, finding a sequence by
id or name, validating input and printing a sequence."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.table import Table

from leadflood.console import console, err, find_workspace, in_session, settings_from
from leadflood.db import scope
from leadflood.schemas import human_message

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from leadflood.auth.principal import CurrentMember
    from leadflood.models import Sequence
    from leadflood.runtime import Runtime

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def invalid(exc: ValidationError) -> typer.Exit:
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "input"
        err.print(f"[red]{field}[/red]: {human_message(error)}")
    return typer.Exit(2)


def validate(model: type[M], payload: dict[str, object]) -> M:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise invalid(exc) from None


def in_workspace(
    data_dir: Path | None,
    workspace: str | None,
    work: Callable[[AsyncSession, Runtime, uuid.UUID], Awaitable[T]],
) -> T:
    async def run(session: AsyncSession, runtime: Runtime) -> T:
        found = await find_workspace(session, workspace)
        return await work(session, runtime, found.id)

    return in_session(settings_from(data_dir), run)


async def acting(session: AsyncSession, workspace_id: uuid.UUID) -> CurrentMember:
    """Who a sequence command acts as in the audit log: the shell's user (see shell_member)."""
    from leadflood.console import shell_member
    from leadflood.models import Workspace

    workspace = await session.get(Workspace, workspace_id)
    assert workspace is not None
    return shell_member(workspace)


async def resolve(session: AsyncSession, workspace_id: uuid.UUID, ref: str) -> uuid.UUID:
    from sqlalchemy import select

    from leadflood.models import Sequence
    from leadflood.sequences.errors import SequenceNotFound

    try:
        return uuid.UUID(ref)
    except ValueError:
        pass
    found = list(
        await session.scalars(
            select(Sequence.id).where(
                scope.in_workspace(Sequence, workspace_id), Sequence.name == ref
            )
        )
    )
    if len(found) != 1:
        raise SequenceNotFound(f"No single sequence named {ref!r}; use its id.")
    return found[0]


async def read_detail(session: AsyncSession, sequence: Sequence) -> dict[str, Any]:
    from leadflood.sequences import service as sequences
    from leadflood.sequences.schemas import SequenceDetail, SequenceRead

    detail = SequenceDetail.model_validate(
        {
            **SequenceRead.model_validate(sequence).model_dump(),
            "steps": sequence.steps,
            "mailbox_ids": await sequences.mailbox_ids(session, sequence.id),
        }
    )
    result: dict[str, Any] = detail.model_dump(mode="json")
    return result


def print_detail(detail: dict[str, Any], as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(detail))
        return
    console.print(f"[bold]{detail['name']}[/bold]  {detail['id']}  ({detail['state']})")
    window = detail["window"]
    if window:
        console.print(
            f"Window: days {window.get('days')} {window.get('start')}-{window.get('end')} "
            f"{detail['timezone']}"
        )
    table = Table("#", "Delay", "Variant", "Subject", box=None)
    for step in detail["steps"]:
        delay = f"after {step['delay_amount']} {step['delay_unit'].replace('_', ' ')}"
        for variant in step["variants"]:
            table.add_row(
                str(step["position"]),
                delay,
                f"{variant['label']} (w{variant['weight']})",
                variant["subject"] or "(reply in thread)",
            )
    console.print(table if detail["steps"] else "No steps yet: add one with `add-step`.")

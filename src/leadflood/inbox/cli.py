"""`leadflood inbox ...`: the inbox from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from leadflood.console import Json, console

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

"""`leadflood inbound endpoints list|set|delete`: the provider webhook URLs of a workspace and
how their requests are checked (the same settings as Settings → Inbound and
/v1/inbound/endpoints)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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

    from leadflood.runtime import Runtime

app = typer.Typer(
    help="Provider webhooks: replies, bounces and complaints sent by Postmark, Resend, SendGrid.",
    no_args_is_help=True,
)
endpoints_app = typer.Typer(
    help="Each provider feed's webhook URL and its verification.", no_args_is_help=True
)
app.add_typer(endpoints_app, name="endpoints")

KindArg = Annotated[
    str, typer.Argument(help="postmark | resend | sendgrid-events | sendgrid-parse")
]


def _print(items: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(items))
        return
    table = Table("Feed", "Checked by", "Configured", "Accepted", "Refused", "URL", box=None)
    for e in items:
        refused = str(e["refused_count"])
        if e["last_refused_code"]:
            refused += f" (last: {e['last_refused_code']})"
        table.add_row(
            e["kind"], e["auth"], "yes" if e["configured"] else "no",
            str(e["received_count"]), refused, e["url"] or "— (not created: `set` creates it)",
        )  # fmt: skip
    console.print(table, soft_wrap=True)


def _run(data_dir: Path | None, workspace: str | None, work: Any) -> Any:
    async def run(session: AsyncSession, runtime: Runtime) -> Any:
        found = await find_workspace(session, workspace)
        return await work(session, runtime, found)

    return in_session(settings_from(data_dir), run)


@endpoints_app.command("list")
def list_endpoints(
    workspace: WorkspaceOption = None, data_dir: DataDir = None, as_json: Json = False
) -> None:
    """Every feed: its URL, how requests are checked, accepted and refused counts."""
    from leadflood.inbox import webhooks

    async def work(session: AsyncSession, runtime: Runtime, ws: Any) -> list[dict[str, Any]]:
        rows = await webhooks.list_all(session, ws.id, runtime.settings.public_url)
        return [r.model_dump(mode="json") for r in rows]

    _print(_run(data_dir, workspace, work), as_json)


@endpoints_app.command("set")
def set_endpoint(
    kind: KindArg,
    username: Annotated[
        str | None, typer.Option(help="Postmark: basic auth user name.", show_default=False)
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            envvar="LEADFLOOD_WEBHOOK_PASSWORD",
            show_default=False,
            help="Postmark: basic auth password (or LEADFLOOD_WEBHOOK_PASSWORD).",
        ),
    ] = None,
    signing_secret: Annotated[
        str | None,
        typer.Option(
            "--signing-secret",
            envvar="LEADFLOOD_WEBHOOK_SECRET",
            show_default=False,
            help="Resend: the webhook's whsec_… secret (or LEADFLOOD_WEBHOOK_SECRET).",
        ),
    ] = None,
    public_key: Annotated[
        str | None,
        typer.Option("--public-key", help="SendGrid: the verification key.", show_default=False),
    ] = None,
    rotate: Annotated[bool, typer.Option("--rotate", help="Give it a new URL.")] = False,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Create the feed's URL, or change how its requests are checked; prints the URL."""
    from pydantic import ValidationError

    from leadflood.inbox import webhooks
    from leadflood.inbox.webhook_schemas import EndpointUpdate

    values: dict[str, Any] = {
        "username": username, "password": password, "signing_secret": signing_secret,
        "public_key": public_key,
    }  # fmt: skip
    values = {k: v for k, v in values.items() if v is not None}
    if rotate:
        values["rotate_token"] = True
    try:
        data = EndpointUpdate.model_validate(values)
    except ValidationError as exc:
        typer.echo(f"validation_error: {exc.errors()[0]['msg']}", err=True)
        raise typer.Exit(2) from None

    async def work(session: AsyncSession, runtime: Runtime, ws: Any) -> dict[str, Any]:
        endpoint = await webhooks.configure(session, shell_member(ws), kind, data)
        read = webhooks.read(endpoint, kind, runtime.settings.public_url)
        return read.model_dump(mode="json")

    _print([_run(data_dir, workspace, work)], as_json)


@endpoints_app.command("delete")
def delete_endpoint(
    kind: KindArg, workspace: WorkspaceOption = None, data_dir: DataDir = None
) -> None:
    """Remove the feed's URL: the provider's requests to it are refused from now on."""
    from leadflood.inbox import webhooks

    async def work(session: AsyncSession, runtime: Runtime, ws: Any) -> None:
        await webhooks.delete(session, shell_member(ws), kind)

    _run(data_dir, workspace, work)
    console.print(f"Removed the {kind} webhook URL.")

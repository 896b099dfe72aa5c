"""Users, workspaces and provider credentials from the shell."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from leadflood.console import (
    DataDir,
    Json,
    WorkspaceOption,
    console,
    err,
    find_workspace,
    in_session,
    settings_from,
    shell_member,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from leadflood.models import User, Workspace
    from leadflood.runtime import Runtime

users_app = typer.Typer(help="Users and workspaces.", no_args_is_help=True)
credentials_app = typer.Typer(help="Provider credentials.", no_args_is_help=True)


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="The user's email (their sign-in name).")],
    workspace: Annotated[
        str, typer.Option(help="Workspace name or slug; created when none has that name.")
    ],
    role: Annotated[str, typer.Option(help="owner | admin | member | viewer")] = "owner",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create a user (or add an existing one) with a role in a workspace."""
    from pydantic import EmailStr, TypeAdapter, ValidationError

    from leadflood.auth import audit
    from leadflood.auth import service as accounts
    from leadflood.auth.passwords import MIN_LENGTH
    from leadflood.models import Role

    if role not in {r.value for r in Role}:
        err.print("[red]validation_error[/red]: --role must be owner, admin, member or viewer")
        raise typer.Exit(2)
    try:
        TypeAdapter(EmailStr).validate_python(email)
    except ValidationError:
        err.print("[red]validation_error[/red]: --email is not a valid email address")
        raise typer.Exit(2) from None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_LENGTH:
        err.print(f"[red]validation_error[/red]: the password needs {MIN_LENGTH}+ characters")
        raise typer.Exit(2)

    async def work(session: AsyncSession, runtime: Runtime) -> tuple[User, Workspace, bool]:
        user = await accounts.user_by_email(session, email)
        created = user is None
        if user is None:
            user = await accounts.create_user(session, email=email, password=password, name=name)
        found = await accounts.find_workspace(session, workspace)
        if found is None:
            found = await accounts.create_workspace(session, name=workspace)
        await accounts.add_member(session, found.id, user.id, Role(role))
        await audit.record(
            session,
            "member.added",
            workspace_id=found.id,
            label="leadflood users create",
            target_type="user",
            target_id=user.id,
            details={"email": email, "role": role, "via": "cli"},
        )
        return user, found, created

    user, found, created = in_session(settings_from(data_dir), work)
    console.print_json(
        json.dumps(
            {
                "user_id": str(user.id),
                "email": user.email,
                "created": created,
                "workspace_id": str(found.id),
                "workspace": found.slug,
                "role": role,
            }
        )
    )


def _user_or_exit(found: User | None, email: str) -> User:
    from leadflood.auth.errors import MemberNotFound

    if found is None:
        raise MemberNotFound(f"No user has the email {email}.")
    return found


@users_app.command("reset-password")
def users_reset_password(
    email: Annotated[str, typer.Argument(help="The user's email.")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Set the new password read from standard input instead of mailing a link.",
        ),
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Mail the user a password reset link through the system mailbox, or (an owner's way in
    when no mail can be sent) set a new password from standard input. Either way every session
    of the user is signed out once the password changes."""
    from leadflood.auth import mail, recovery
    from leadflood.auth import service as accounts
    from leadflood.auth.passwords import MIN_LENGTH

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    if password is not None and len(password) < MIN_LENGTH:
        err.print(f"[red]validation_error[/red]: the password needs {MIN_LENGTH}+ characters")
        raise typer.Exit(2)

    async def work(session: AsyncSession, runtime: Runtime) -> str:
        user = _user_or_exit(await accounts.user_by_email(session, email), email)
        if password is not None:
            ended = await recovery.set_password(
                session, user, password, label="leadflood users reset-password"
            )
            return f"Password set for {user.email}; {ended} session(s) signed out."
        outgoing = await recovery.request_password_reset(session, runtime.settings, user.email)
        assert outgoing is not None
        await mail.send(outgoing.mailbox, outgoing.mail)
        return f"Reset link sent to {user.email} through {outgoing.mailbox.description}."

    console.print(in_session(settings_from(data_dir), work))


@users_app.command("sessions")
def users_sessions(
    email: Annotated[str, typer.Argument(help="The user's email.")],
    revoke_all: Annotated[
        bool, typer.Option("--revoke-all", help="Sign the user out of every session.")
    ] = False,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """List where a user is signed in (device, address, started, last used), or sign them out
    everywhere with --revoke-all."""
    from leadflood.auth import service as accounts
    from leadflood.auth import sessions

    async def work(session: AsyncSession, runtime: Runtime) -> list[dict[str, str | None]] | int:
        user = _user_or_exit(await accounts.user_by_email(session, email), email)
        if revoke_all:
            return await sessions.revoke_others(
                session, user.id, None, origin=None, label="leadflood users sessions"
            )
        return [
            {
                "id": str(row.id),
                "kind": row.kind,
                "user_agent": row.user_agent,
                "ip": row.ip,
                "created_at": row.created_at.isoformat(),
                "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
            }
            for row in await sessions.list_for(session, user.id)
        ]

    result = in_session(settings_from(data_dir), work)
    if isinstance(result, int):
        console.print(f"Signed {email} out of {result} session(s).")
    elif as_json:
        console.print_json(json.dumps(result))
    elif not result:
        console.print(f"{email} is signed in nowhere.")
    else:
        for row in result:
            console.print(
                f"{row['id']}  {row['kind']:<7}  {row['ip'] or '-':<15}  started "
                f"{row['created_at']}  last used {row['last_used_at'] or '-'}  "
                f"{row['user_agent'] or ''}"
            )


@users_app.command("disable-2fa")
def users_disable_two_factor(
    email: Annotated[str, typer.Argument(help="The user's email.")],
    data_dir: DataDir = None,
) -> None:
    """Turn off a user's two-factor sign-in (they lost their device and recovery codes)."""
    from leadflood.auth import service as accounts
    from leadflood.auth import twofactor

    async def work(session: AsyncSession, runtime: Runtime) -> bool:
        user = _user_or_exit(await accounts.user_by_email(session, email), email)
        return await twofactor.reset(session, user, label="leadflood users disable-2fa")

    done = in_session(settings_from(data_dir), work)
    console.print(
        f"Two-factor sign-in turned off for {email}." if done else f"{email} had it off already."
    )


@credentials_app.command("list")
def credentials_list(
    workspace: WorkspaceOption = None, data_dir: DataDir = None, as_json: Json = False
) -> None:
    """The providers with a stored key in the workspace (never the keys)."""
    from leadflood.auth import credentials

    async def work(session: AsyncSession, runtime: Runtime) -> list[dict[str, str]]:
        found = await find_workspace(session, workspace)
        rows = await credentials.list_all(session, found.id)
        return [{"provider": r.provider, "updated_at": r.updated_at.isoformat()} for r in rows]

    rows = in_session(settings_from(data_dir), work)
    if as_json:
        console.print_json(json.dumps(rows))
        return
    if not rows:
        console.print("No stored keys: the sandbox providers need none.")
    for row in rows:
        console.print(f"{row['provider']}  (updated {row['updated_at']})")


@credentials_app.command("set")
def credentials_set(
    provider: Annotated[str, typer.Argument(help="apollo | hunter")],
    workspace: WorkspaceOption = None,
    secret_stdin: Annotated[
        bool, typer.Option("--secret-stdin", help="Read the key from standard input.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Store (or replace) a provider's API key, encrypted; asked for unless --secret-stdin."""
    from leadflood.auth import credentials

    if secret_stdin:
        secret = sys.stdin.readline().strip()
    else:
        secret = typer.prompt(f"{provider} API key", hide_input=True).strip()
    if not secret:
        err.print("[red]validation_error[/red]: the key is empty")
        raise typer.Exit(2)

    async def work(session: AsyncSession, runtime: Runtime) -> None:
        found = await find_workspace(session, workspace)
        await credentials.set_secret(session, shell_member(found), provider.lower(), secret)

    in_session(settings_from(data_dir), work)
    console.print(f"Saved the {provider.lower()} key.")


@credentials_app.command("delete")
def credentials_delete(
    provider: Annotated[str, typer.Argument(help="apollo | hunter")],
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
) -> None:
    """Delete a provider's stored key; the environment's key (if any) is used again."""
    from leadflood.auth import credentials

    async def work(session: AsyncSession, runtime: Runtime) -> None:
        found = await find_workspace(session, workspace)
        await credentials.delete(session, shell_member(found), provider.lower())

    in_session(settings_from(data_dir), work)
    console.print(f"Deleted the {provider.lower()} key.")


@credentials_app.command("rotate")
def credentials_rotate(data_dir: DataDir = None) -> None:
    """Re-encrypt every provider secret with the first key of ENCRYPTION_KEYS."""
    from leadflood.auth import credentials

    async def work(session: AsyncSession, runtime: Runtime) -> int:
        return await credentials.rotate(session)

    changed = in_session(settings_from(data_dir), work)
    console.print(f"Re-encrypted {changed} credential(s) with the current key.")


def default_country(
    country: Annotated[
        str | None,
        typer.Argument(
            help="ISO 3166 alpha-2 code (DE, FR, US...); leave out to show the current one.",
            show_default=False,
        ),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the default country.")] = False,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
) -> None:
    """Show or set the workspace's default country: imported phone numbers written without a
    country code, on rows with no usable country, are read as this country's numbers."""
    from pydantic import ValidationError

    from leadflood.auth import service as accounts
    from leadflood.auth.schemas import WorkspaceUpdate

    change = country is not None or clear
    if country is not None and clear:
        err.print("[red]validation_error[/red]: give a country or --clear, not both")
        raise typer.Exit(2)
    try:
        data = WorkspaceUpdate(default_country=None if clear else country)
    except ValidationError as exc:
        err.print(f"[red]validation_error[/red]: {exc.errors()[0]['msg']}")
        raise typer.Exit(2) from None

    async def work(session: AsyncSession, runtime: Runtime) -> Workspace:
        found = await find_workspace(session, workspace)
        if change:
            await accounts.set_default_country(session, shell_member(found), data.default_country)
        return found

    found = in_session(settings_from(data_dir), work)
    console.print_json(
        json.dumps({"workspace": found.slug, "default_country": found.default_country})
    )

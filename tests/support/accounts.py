"""Accounts for tests: a user with a role in a workspace, an API key of that role, and helpers
to sign in through the API or the browser form."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from leadflood.auth import api_keys
from leadflood.auth import service as accounts
from leadflood.auth.principal import CurrentMember
from leadflood.models import Role, Workspace
from leadflood.runtime import Runtime

PASSWORD = "correct horse battery"


@dataclass
class Account:
    user_id: uuid.UUID
    email: str
    password: str
    workspace_id: uuid.UUID
    workspace_name: str
    role: Role
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key}


async def make_account(
    runtime: Runtime,
    *,
    email: str | None = None,
    workspace: str | uuid.UUID = "Acme",
    role: Role | str = Role.owner,
    password: str = PASSWORD,
) -> Account:
    """A user (created unless the email exists) with `role` in `workspace` (a name, created
    when missing, or an id) and an API key of the same role."""
    role = Role(role)
    email = email or f"{role.value}-{uuid.uuid4().hex[:8]}@example.com"
    async with runtime.db.session() as session:
        user = await accounts.user_by_email(session, email)
        if user is None:
            user = await accounts.create_user(session, email=email, password=password)
        if isinstance(workspace, uuid.UUID):
            ws = await session.get(Workspace, workspace)
        else:
            ws = await accounts.find_workspace(session, workspace)
        if ws is None:
            assert isinstance(workspace, str)
            ws = await accounts.create_workspace(session, name=workspace)
        await accounts.add_member(session, ws.id, user.id, role)
        actor = CurrentMember(workspace=ws, role=role, user=user)
        _, secret = await api_keys.create(session, actor, name=f"{role.value} key", role=role)
    return Account(user.id, email, password, ws.id, ws.name, role, secret)


async def api_login(client: httpx.AsyncClient, account: Account, **extra: Any) -> dict[str, Any]:
    response = await client.post(
        "/v1/auth/login", json={"email": account.email, "password": account.password, **extra}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


async def browser_login(client: httpx.AsyncClient, account: Account) -> None:
    """Sign `client` in through the login form: it then holds the session and CSRF cookies."""
    client.cookies.delete("lf_session")
    page = await client.get("/login")
    token = csrf_of(page.text)
    response = await client.post(
        "/login",
        data={"email": account.email, "password": account.password, "csrf_token": token},
    )
    assert response.status_code == 303, response.text

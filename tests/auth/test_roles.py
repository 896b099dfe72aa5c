"""Every mutating route declares its role; a lower role gets 403 on each of them."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from leadflood.models import Role
from tests.auth.openapi_walk import (
    MUTATING,
    api_routes,
    body_for,
    operations,
    required_role,
    requires_user,
)
from tests.support.accounts import Account

# Routes anyone may call: they act on the caller's own sign-in, not on a workspace.
SELF_SERVICE = {
    ("POST", "/v1/auth/login"),
    ("POST", "/v1/auth/refresh"),
    ("POST", "/v1/auth/logout"),
    ("POST", "/v1/invitations/accept"),
    ("POST", "/login"),
    ("POST", "/setup"),
    ("POST", "/invite/{token}"),
    # Account recovery: a mailed single-use token, or the TOTP step of a sign-in, proves who
    # is asking; asking for a reset link answers the same for any address.
    ("POST", "/v1/auth/password-reset"),
    ("POST", "/v1/auth/password-reset/confirm"),
    ("POST", "/v1/auth/verify-email/confirm"),
    ("POST", "/forgot-password"),
    ("POST", "/reset-password/{token}"),
    ("POST", "/verify-email/{token}"),
    ("POST", "/login/two-factor"),
    # Provider webhooks: no user, the provider's signature or credentials prove the sender.
    ("POST", "/v1/inbound/{kind}/{token}"),
}
ADMIN_AREAS = ("/v1/members", "/v1/api-keys", "/v1/credentials", "/v1/invitations", "/settings/")


def _mutating(app: Any) -> list[tuple[str, str, Any]]:
    return [
        (method, route.path, route)
        for route in api_routes(app)
        for method in route.methods
        if method.lower() in MUTATING
    ]


def test_every_mutating_route_declares_a_role_that_viewers_lack(app: Any) -> None:
    mutating = _mutating(app)
    assert len(mutating) >= 25
    for method, path, route in mutating:
        if (method, path) in SELF_SERVICE:
            continue
        role = required_role(route)
        if role is None:
            assert requires_user(route), f"{method} {path} declares no role"
            continue
        assert role.at_least(Role.member), f"{method} {path} lets viewers change things"
        admin_area = path.startswith(ADMIN_AREAS) and "/sessions" not in path
        if admin_area and path != "/settings/members":
            assert role.at_least(Role.admin), f"{method} {path} must need admin, needs {role}"


async def test_lower_roles_get_403_on_every_mutating_api_route(
    app: Any, anon_client: httpx.AsyncClient, owner: Account, make_user: Any
) -> None:
    accounts = {
        role: await make_user(role=role, workspace=owner.workspace_id)
        for role in (Role.viewer, Role.member, Role.admin)
    }
    schema = app.openapi()
    routes = {(m, p): r for m, p, r in _mutating(app)}
    checked = 0
    for method, path, operation in operations(schema):
        route = routes.get((method.upper(), path))
        needed = required_role(route) if route else None
        if needed is None:
            continue
        url = re.sub(
            r"{(\w+)}", lambda m: "apollo" if m[1] == "provider" else str(uuid.uuid4()), path
        )
        body = body_for(schema, operation)
        for role, account in accounts.items():
            if role.at_least(needed):
                continue
            response = await anon_client.request(method, url, headers=account.headers, json=body)
            assert response.status_code == 403, f"{role} {method.upper()} {path}: {response.text}"
            assert response.json()["error"]["code"] == "forbidden"
            checked += 1
    assert checked >= 10


async def test_viewer_cannot_add_a_lead_from_the_browser_but_a_member_can(
    anon_client: httpx.AsyncClient, owner: Account, make_user: Any
) -> None:
    from tests.support.accounts import browser_login, csrf_of

    viewer = await make_user(role="viewer", workspace=owner.workspace_id)
    await browser_login(anon_client, viewer)
    page = await anon_client.get("/leads", headers={"accept": "text/html"})
    assert page.status_code == 200
    token = csrf_of(page.text)
    denied = await anon_client.post(
        "/leads",
        data={"email": "v@example.com", "csrf_token": token},
        headers={"accept": "text/html"},
    )
    assert denied.status_code == 403

    member = await make_user(role="member", workspace=owner.workspace_id)
    await browser_login(anon_client, member)
    created = await anon_client.post("/leads", data={"email": "m@example.com", "csrf_token": token})
    assert created.status_code == 303


async def test_admins_cannot_touch_owners_and_the_last_owner_stays(
    client: httpx.AsyncClient, owner: Account, make_user: Any
) -> None:
    admin = await make_user(role="admin", workspace=owner.workspace_id)
    members = {m["email"]: m for m in (await client.get("/v1/members")).json()}
    owner_id = members[owner.email]["id"]
    as_admin = {"X-API-Key": admin.api_key}
    demote = await client.patch(
        f"/v1/members/{owner_id}", json={"role": "member"}, headers=as_admin
    )
    assert demote.status_code == 403
    promote = await client.patch(
        f"/v1/members/{members[admin.email]['id']}", json={"role": "owner"}, headers=as_admin
    )
    assert promote.status_code == 403
    last = await client.patch(f"/v1/members/{owner_id}", json={"role": "admin"})
    assert last.status_code == 409
    assert last.json()["error"]["code"] == "last_owner"
    key = await client.post("/v1/api-keys", json={"name": "x", "role": "owner"}, headers=as_admin)
    assert key.status_code == 403

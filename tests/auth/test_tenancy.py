"""Nothing of one workspace can be seen or changed from another: every route of the OpenAPI
document is called with the ids of another workspace's rows and must answer 404."""

from __future__ import annotations

import re
import uuid
import warnings
from typing import Any

import httpx

from tests.auth.openapi_walk import body_for, operations
from tests.support.accounts import Account, api_login

# Create-or-replace by name: it never reaches another workspace's row (checked below).
# Routes whose path names no row: a provider's name or an endpoint kind within the caller's own
# workspace, or a webhook's own secret token (checked in tests/inbox/test_webhooks.py).
UPSERTS = {
    ("put", "/v1/credentials/{provider}"),
    ("get", "/v1/inbound/endpoints/{kind}"),
    ("put", "/v1/inbound/endpoints/{kind}"),
    ("delete", "/v1/inbound/endpoints/{kind}"),
    ("post", "/v1/inbound/{kind}/{token}"),
}


def _ok(response: httpx.Response, status: int = 201) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


async def _sequence_rows_of(
    client: httpx.AsyncClient, headers: dict[str, str], bearer: dict[str, str], lead_id: str
) -> dict[str, str]:
    """A mailbox, a sequence with a step, an enrollment of the lead, and a message (a test send,
    which needs a signed-in user): every id the sending and sequence routes take."""
    # An HTTP-provider mailbox is saved without a network check (SMTP ones log in first).
    mailbox = _ok(
        await client.post(
            "/v1/mailboxes",
            json={
                "name": "Globex",
                "provider": "resend",
                "from_email": "sales@globex.example",
                "api_key": "re_globex",
            },
            headers=headers,
        )
    )
    sequence = _ok(
        await client.post(
            "/v1/sequences",
            json={"name": "Globex outreach", "mailbox_ids": [mailbox["id"]]},
            headers=headers,
        )
    )
    step = _ok(
        await client.post(
            f"/v1/sequences/{sequence['id']}/steps",
            json={"variants": [{"subject": "Hi", "body": "Hello"}]},
            headers=headers,
        )
    )["steps"][0]
    enrolled = _ok(
        await client.post(
            f"/v1/sequences/{sequence['id']}/enrollments",
            json={"lead_id": lead_id},
            headers=headers,
        ),
        200,
    )
    assert enrolled["enrolled"] == 1, enrolled
    enrollments = _ok(
        await client.get(f"/v1/sequences/{sequence['id']}/enrollments", headers=headers), 200
    )
    sent = _ok(
        await client.post(
            f"/v1/sequences/{sequence['id']}/test-send",
            json={"lead_id": lead_id, "mailbox_id": mailbox["id"]},
            headers=bearer,
        ),
        202,
    )
    return {
        "mailbox_id": mailbox["id"],
        "sequence_id": sequence["id"],
        "step_id": step["id"],
        "variant_id": step["variants"][0]["id"],
        "enrollment_id": enrollments["items"][0]["id"],
        "message_id": sent["message_id"],
    }


async def _rows_of(client: httpx.AsyncClient, account: Account) -> dict[str, str]:
    """One row of every kind in `account`'s workspace, keyed by the path parameter naming it."""
    headers = account.headers
    created = (
        await client.post("/v1/leads", json={"email": "x@globex.example"}, headers=headers)
    ).json()
    key = (await client.post("/v1/api-keys", json={"name": "k"}, headers=headers)).json()
    invitation = (
        await client.post("/v1/invitations", json={"email": "new@globex.example"}, headers=headers)
    ).json()
    put = await client.put(
        "/v1/credentials/apollo", json={"secret": "globex-secret"}, headers=headers
    )
    assert put.status_code == 200, put.text
    members = (await client.get("/v1/members", headers=headers)).json()
    tokens = await api_login(client, account)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    sessions = (await client.get("/v1/auth/sessions", headers=bearer)).json()
    icp = _ok(
        await client.post(
            "/v1/icps",
            json={"name": "Globex ICP", "criteria": {"titles": ["CTO"]}},
            headers=headers,
        )
    )
    run = _ok(await client.post(f"/v1/icps/{icp['id']}/search", json={}, headers=headers), 202)
    upload = _ok(
        await client.post(
            "/v1/imports",
            files={"file": ("globex.csv", b"email\nnew@globex.example\n", "text/csv")},
            headers=headers,
        )
    )
    bulk = _ok(
        await client.post(
            "/v1/leads/bulk/enrich", json={"lead_ids": [created["lead_id"]]}, headers=headers
        ),
        202,
    )
    lead_list = _ok(await client.post("/v1/lists", json={"name": "Globex"}, headers=headers))
    note = _ok(
        await client.post(
            f"/v1/leads/{created['lead_id']}/notes", json={"text": "Globex only"}, headers=headers
        )
    )
    suppression = _ok(
        await client.post(
            "/v1/suppressions",
            json={"kind": "email", "value": "gone@globex.example"},
            headers=headers,
        )
    )
    endpoint = _ok(
        await client.post(
            "/v1/webhooks",
            json={"url": "https://hooks.globex.example/in", "events": ["lead.created"]},
            headers=headers,
        )
    )
    ping = _ok(await client.post(f"/v1/webhooks/{endpoint['id']}/test", headers=headers), 202)
    return {
        "lead_id": created["lead_id"],
        "job_id": str(created["job_id"]),
        "key_id": key["api_key"]["id"],
        "invitation_id": invitation["invitation"]["id"],
        "member_id": members[0]["id"],
        "session_id": sessions[0]["id"],
        "provider": "apollo",
        "icp_id": icp["id"],
        "run_id": str(run["run_id"]),
        "import_id": upload["id"],
        "operation_id": bulk["operation_id"],
        "suppression_id": suppression["id"],
        "list_id": lead_list["id"],
        "note_id": note["id"],
        "endpoint_id": endpoint["id"],
        "delivery_id": ping["id"],
        **await _sequence_rows_of(client, headers, bearer, created["lead_id"]),
    }


async def _thread_of(runtime: Any, account: Account, theirs: dict[str, str]) -> str:
    """An inbox thread of `account`'s lead (threads come from inbound mail: no API makes one)."""
    from datetime import UTC, datetime

    from leadflood.models import Thread

    async with runtime.db.session() as session:
        thread = Thread(
            workspace_id=account.workspace_id, lead_id=uuid.UUID(theirs["lead_id"]),
            mailbox_id=uuid.UUID(theirs["mailbox_id"]), subject="Re: Hi",
            kind="reply", label="interested", last_message_at=datetime.now(UTC),
        )  # fmt: skip
        session.add(thread)
        await session.flush()
        return str(thread.id)


async def _company_of(runtime: Any, account: Account) -> str:
    """A company of `account`'s workspace (imports and searches make them: no API creates one)."""
    from leadflood.models import Company

    async with runtime.db.session() as session:
        company = Company(workspace_id=account.workspace_id, domain="globex.example", name="Globex")
        session.add(company)
        await session.flush()
        return str(company.id)


async def _parents_of(client: httpx.AsyncClient, account: Account) -> dict[str, str]:
    """Only the parents of nested routes (nothing keyed by name, such as a credential, whose
    route would then rightly answer for `account`'s own row)."""
    headers = account.headers
    icp = _ok(
        await client.post(
            "/v1/icps", json={"name": "Mine", "criteria": {"titles": ["CEO"]}}, headers=headers
        )
    )
    sequence = _ok(await client.post("/v1/sequences", json={"name": "Mine"}, headers=headers))
    step = _ok(
        await client.post(
            f"/v1/sequences/{sequence['id']}/steps",
            json={"variants": [{"subject": "Hi", "body": "Hello"}]},
            headers=headers,
        )
    )["steps"][0]
    endpoint = _ok(
        await client.post(
            "/v1/webhooks",
            json={"url": "https://hooks.mine.example/in", "events": ["lead.created"]},
            headers=headers,
        )
    )
    return {
        "icp_id": icp["id"], "sequence_id": sequence["id"], "step_id": step["id"],
        "endpoint_id": endpoint["id"],
    }  # fmt: skip


async def test_every_route_answers_404_for_another_workspaces_rows(
    app: Any, runtime: Any, anon_client: httpx.AsyncClient, owner: Account, other_workspace: Account
) -> None:
    theirs = await _rows_of(anon_client, other_workspace)
    theirs["thread_id"] = await _thread_of(runtime, other_workspace, theirs)
    theirs["company_id"] = await _company_of(runtime, other_workspace)
    # My own rows too: a nested route given MY parent and THEIR child must still be 404 (a
    # route that only checks the parent would otherwise leak the child).
    own = await _parents_of(anon_client, owner)
    mine = await api_login(anon_client, owner)
    headers = {"Authorization": f"Bearer {mine['access_token']}"}
    schema = app.openapi()
    checked = []
    for method, path, operation in operations(schema):
        params = re.findall(r"{(\w+)}", path)
        if not params or (method, path) in UPSERTS:
            continue
        missing = [p for p in params if p not in theirs]
        if missing:
            # Still called (and still must be 404), but with made-up ids: teach `_rows_of` to
            # make a real row of that kind so the check means something.
            warnings.warn(
                f"{method.upper()} {path}: no row of another workspace for {missing}; "
                "add one to tests/auth/test_tenancy.py::_rows_of",
                stacklevel=1,
            )
        values = {
            **{
                p: str(uuid.uuid4().int % 2**62) if p.endswith("job_id") else str(uuid.uuid4())
                for p in missing
            },
            **theirs,
        }
        mixes = [values] + [
            values | {p: own[p] for p in params[:k] if p in own} for k in range(1, len(params))
        ]
        body = body_for(schema, operation)
        for mixed in mixes:
            url = path.format(**mixed)
            response = await anon_client.request(
                method, url, headers=headers, json=body if body is not None else None
            )
            assert response.status_code == 404, f"{method.upper()} {url}: {response.text}"
            assert response.json()["error"]["code"].endswith("not_found")
            assert theirs["lead_id"] not in response.text
        checked.append((method, path))
    assert len(checked) >= 8

    # The other workspace's rows are all still there, untouched.
    other = other_workspace.headers
    assert (
        await anon_client.get(f"/v1/leads/{theirs['lead_id']}", headers=other)
    ).status_code == 200
    assert (await anon_client.get(f"/v1/jobs/{theirs['job_id']}", headers=other)).status_code == 200
    keys = (await anon_client.get("/v1/api-keys", headers=other)).json()
    assert any(k["id"] == theirs["key_id"] and k["revoked_at"] is None for k in keys)
    invitations = (await anon_client.get("/v1/invitations", headers=other)).json()
    assert [i["id"] for i in invitations] == [theirs["invitation_id"]]
    members = (await anon_client.get("/v1/members", headers=other)).json()
    assert [(m["id"], m["role"]) for m in members] == [(theirs["member_id"], "owner")]
    creds = (await anon_client.get("/v1/credentials", headers=other)).json()
    assert [c["provider"] for c in creds] == ["apollo"]
    for url in (
        f"/v1/icps/{theirs['icp_id']}",
        f"/v1/icps/{theirs['icp_id']}/search-runs/{theirs['run_id']}",
        f"/v1/imports/{theirs['import_id']}",
        f"/v1/leads/bulk/{theirs['operation_id']}",
        f"/v1/mailboxes/{theirs['mailbox_id']}",
        f"/v1/messages/{theirs['message_id']}",
    ):
        assert (await anon_client.get(url, headers=other)).status_code == 200, url
    sequence = (
        await anon_client.get(f"/v1/sequences/{theirs['sequence_id']}", headers=other)
    ).json()
    assert sequence["state"] == "draft" and sequence["mailbox_ids"] == [theirs["mailbox_id"]]
    assert [(s["id"], [v["id"] for v in s["variants"]]) for s in sequence["steps"]] == [
        (theirs["step_id"], [theirs["variant_id"]])
    ]
    enrollments = (
        await anon_client.get(f"/v1/sequences/{theirs['sequence_id']}/enrollments", headers=other)
    ).json()
    assert [(e["id"], e["state"]) for e in enrollments["items"]] == [
        (theirs["enrollment_id"], "active")
    ]
    suppressions = (await anon_client.get("/v1/suppressions", headers=other)).json()
    assert [x["id"] for x in suppressions["items"]] == [theirs["suppression_id"]]
    thread = (await anon_client.get(f"/v1/threads/{theirs['thread_id']}", headers=other)).json()
    assert (thread["state"], thread["assignee_id"], thread["unread"]) == ("open", None, True)


async def test_lists_never_show_another_workspaces_rows(
    app: Any, runtime: Any, anon_client: httpx.AsyncClient, owner: Account, other_workspace: Account
) -> None:
    theirs = await _rows_of(anon_client, other_workspace)
    theirs["thread_id"] = await _thread_of(runtime, other_workspace, theirs)
    secret_ids = {v for k, v in theirs.items() if k not in {"provider", "job_id", "session_id"}}
    for method, path, _ in operations(app.openapi()):
        if method != "get" or "{" in path:
            continue
        response = await anon_client.get(path, headers=owner.headers)
        leaked = [i for i in secret_ids if i in response.text]
        assert not leaked, f"GET {path} shows rows of another workspace: {leaked}"


async def test_putting_a_credential_never_touches_another_workspaces(
    runtime: Any, anon_client: httpx.AsyncClient, owner: Account, other_workspace: Account
) -> None:
    from leadflood.auth import credentials

    await _rows_of(anon_client, other_workspace)
    put = await anon_client.put(
        "/v1/credentials/apollo", json={"secret": "acme-secret"}, headers=owner.headers
    )
    assert put.status_code == 200
    async with runtime.db.session() as session:
        assert await credentials.get_secret(session, other_workspace.workspace_id, "apollo") == (
            "globex-secret"
        )
        assert await credentials.get_secret(session, owner.workspace_id, "apollo") == "acme-secret"


async def test_a_token_for_a_workspace_you_are_not_in_is_404(
    anon_client: httpx.AsyncClient, owner: Account, other_workspace: Account
) -> None:
    tokens = await api_login(anon_client, owner)
    headers = {
        "Authorization": f"Bearer {tokens['access_token']}",
        "X-Workspace-Id": str(other_workspace.workspace_id),
    }
    response = await anon_client.get("/v1/leads", headers=headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "workspace_not_found"
    login = await anon_client.post(
        "/v1/auth/login",
        json={
            "email": owner.email,
            "password": owner.password,
            "workspace_id": str(other_workspace.workspace_id),
        },
    )
    assert login.status_code == 404

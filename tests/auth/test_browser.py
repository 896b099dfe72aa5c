"""Browser sign-in: first run, login form, CSRF, logout, workspace switcher, invitations."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.accounts import Account, browser_login, csrf_of

HTML = {"accept": "text/html"}


async def test_first_run_creates_the_owner_and_workspace_then_closes(
    anon_client: httpx.AsyncClient,
) -> None:
    assert (await anon_client.get("/leads", headers=HTML)).headers["location"].startswith("/login")
    assert (await anon_client.get("/login")).headers["location"] == "/setup"
    page = await anon_client.get("/setup")
    token = csrf_of(page.text)
    short = await anon_client.post(
        "/setup",
        data={
            "workspace": "Acme",
            "email": "me@acme.example",
            "password": "short",
            "csrf_token": token,
        },
    )
    assert short.status_code == 422 and "at least 10" in short.text
    done = await anon_client.post(
        "/setup",
        data={
            "workspace": "Acme",
            "name": "Ada",
            "email": "me@acme.example",
            "password": "a long enough password",
            "csrf_token": token,
        },
    )
    assert done.status_code == 303 and done.headers["location"] == "/leads"
    leads = await anon_client.get("/leads", headers=HTML)
    assert leads.status_code == 200 and "Acme" in leads.text and "Sign out" in leads.text
    anon_client.cookies.delete("lf_session")
    assert (await anon_client.get("/setup")).headers["location"] == "/login"
    again = await anon_client.post(
        "/setup",
        data={
            "workspace": "X",
            "email": "x@x.example",
            "password": "a long enough password",
            "csrf_token": token,
        },
    )
    assert again.status_code == 409


async def test_forms_without_a_valid_csrf_token_are_rejected(
    anon_client: httpx.AsyncClient, owner: Account
) -> None:
    page = await anon_client.get("/login")
    token = csrf_of(page.text)
    assert "httponly" in page.headers["set-cookie"].lower()
    credentials = {"email": owner.email, "password": owner.password}
    for data in (credentials, {**credentials, "csrf_token": "forged"}):
        response = await anon_client.post("/login", data=data)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "csrf_failed"
    # A token is only good with the cookie it was made for.
    stranger = httpx.AsyncClient(transport=anon_client._transport, base_url="http://testserver")
    async with stranger:
        response = await stranger.post("/login", data={**credentials, "csrf_token": token})
        assert response.status_code == 403

    await browser_login(anon_client, owner)
    leads = await anon_client.get("/leads")
    form_token = csrf_of(leads.text)
    assert (await anon_client.post("/leads", data={"email": "a@b.co"})).status_code == 403
    ok = await anon_client.post("/leads", data={"email": "a@b.co", "csrf_token": form_token})
    assert ok.status_code == 303
    # The session cookie alone cannot call the JSON API's unsafe methods either.
    assert (await anon_client.post("/v1/leads", json={"email": "c@d.co"})).status_code == 403
    with_header = await anon_client.post(
        "/v1/leads", json={"email": "c@d.co"}, headers={"x-csrf-token": form_token}
    )
    assert with_header.status_code == 201


async def test_login_failure_and_logout(anon_client: httpx.AsyncClient, owner: Account) -> None:
    page = await anon_client.get("/login?next=/settings/members")
    token = csrf_of(page.text)
    wrong = await anon_client.post(
        "/login", data={"email": owner.email, "password": "nope", "csrf_token": token}
    )
    assert wrong.status_code == 401 and "Wrong email or password" in wrong.text
    ok = await anon_client.post(
        "/login",
        data={
            "email": owner.email,
            "password": owner.password,
            "csrf_token": token,
            "next": "//evil.example",
        },
    )
    assert ok.headers["location"] == "/leads"
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    out = await anon_client.post("/logout", data={"csrf_token": token})
    assert out.status_code == 303
    assert (await anon_client.get("/leads", headers=HTML)).status_code == 303


async def test_switching_workspace_in_the_top_bar(
    anon_client: httpx.AsyncClient, owner: Account, make_user: Any
) -> None:
    second = await make_user(email=owner.email, workspace="Globex", role="member")
    await browser_login(anon_client, owner)
    page = await anon_client.get("/leads")
    assert 'name="workspace_id"' in page.text and "Globex" in page.text
    switched = await anon_client.post(
        "/session/workspace",
        data={
            "workspace_id": str(second.workspace_id),
            "next": "/leads",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert switched.status_code == 303
    me = await anon_client.get("/v1/workspaces/current")
    assert me.json()["workspace"]["name"] == "Globex" and me.json()["via"] == "cookie"


async def test_an_invitation_link_works_once(
    client: httpx.AsyncClient, anon_client: httpx.AsyncClient, owner: Account
) -> None:
    created = (
        await client.post("/v1/invitations", json={"email": "new@acme.example", "role": "viewer"})
    ).json()
    url = "/" + created["url"].split("/", 3)[3]
    page = await anon_client.get(url)
    assert page.status_code == 200 and "new@acme.example" in page.text
    accepted = await anon_client.post(
        url, data={"password": "a long enough password", "csrf_token": csrf_of(page.text)}
    )
    assert accepted.status_code == 303
    current = (await anon_client.get("/v1/workspaces/current")).json()
    assert current["role"] == "viewer"
    assert (await anon_client.get(url)).status_code == 410
    api = await anon_client.post(
        "/v1/invitations/accept",
        json={"token": created["token"], "password": "a long enough password"},
    )
    assert api.status_code == 410
    members = (await client.get("/v1/members")).json()
    assert {m["email"] for m in members} == {owner.email, "new@acme.example"}


async def test_settings_pages_render_for_admins(
    anon_client: httpx.AsyncClient, owner: Account, make_user: Any
) -> None:
    await browser_login(anon_client, owner)
    for path in (
        "/settings/members",
        "/settings/api-keys",
        "/settings/credentials",
        "/settings/audit",
        "/settings/sessions",
    ):
        page = await anon_client.get(path)
        assert page.status_code == 200, path
        assert "<script>" not in page.text and "onclick" not in page.text
    token = csrf_of(page.text)
    made = await anon_client.post(
        "/settings/api-keys", data={"name": "zap", "role": "member", "csrf_token": token}
    )
    assert made.status_code == 200 and "lf_" in made.text
    viewer = await make_user(role="viewer", workspace=owner.workspace_id)
    await browser_login(anon_client, viewer)
    assert (await anon_client.get("/settings/members")).status_code == 200
    assert (await anon_client.get("/settings/api-keys", headers=HTML)).status_code == 403


async def test_only_keys_a_provider_reads_are_stored(
    client: httpx.AsyncClient, anon_client: httpx.AsyncClient, owner: Account
) -> None:
    typo = await client.put("/v1/credentials/apolo", json={"secret": "k-123"})
    assert typo.status_code == 422 and typo.json()["error"]["code"] == "unknown_provider"
    assert (await client.put("/v1/credentials/resend", json={"secret": "re_1"})).status_code == 422

    await browser_login(anon_client, owner)
    page = await anon_client.get("/settings/credentials")
    token = csrf_of(page.text)
    refused = await anon_client.post(
        "/settings/credentials", data={"provider": "apolo", "secret": "k", "csrf_token": token}
    )
    assert refused.status_code == 422 and "Choose the provider." in refused.text
    saved = await anon_client.post(
        "/settings/credentials",
        data={"provider": "apollo", "secret": "k-456", "csrf_token": token},
        follow_redirects=True,
    )
    assert saved.status_code == 200 and "Saved the Apollo key." in saved.text
    assert [c["provider"] for c in (await client.get("/v1/credentials")).json()] == ["apollo"]

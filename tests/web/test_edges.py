"""Quiet, safe edges: signed-in responses are never cached, /metrics can ask for a token,
forwarded headers are believed only from configured proxies, and doctor fails when links in
real mail could not be opened."""

from __future__ import annotations

from typing import Any

import httpx

from leadflood.runtime import Runtime
from leadflood.settings import Settings
from leadflood.system import doctor
from leadflood.system.doctor import unreachable_reason
from leadflood.web.app import create_app
from tests.factories import make_mailbox, make_workspace


async def test_signed_in_responses_are_not_stored(
    client: httpx.AsyncClient, anon_client: Any
) -> None:
    assert (await client.get("/v1/leads")).headers["cache-control"] == "no-store"
    assert "no-store" not in (await anon_client.get("/health")).headers.get("cache-control", "")


async def test_metrics_can_require_a_token(runtime: Runtime) -> None:
    guarded = Runtime(runtime.settings.model_copy(update={"metrics_token": "s3cret"}), runtime.db)
    transport = httpx.ASGITransport(app=create_app(guarded))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        assert (await c.get("/metrics/")).status_code == 401
        wrong = await c.get("/metrics/", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = await c.get("/metrics/", headers={"Authorization": "Bearer s3cret"})
        assert (right.status_code == 200 and "http_requests" in right.text) or right.text


def test_forwarded_headers_are_believed_from_configured_proxies_only() -> None:
    assert Settings().forwarded_allow_ips == ""
    proxied = Settings(TRUSTED_PROXIES="10.0.0.5, 10.0.1.0/24")  # type: ignore[call-arg]
    assert proxied.forwarded_allow_ips == "10.0.0.5,10.0.1.0/24"


def test_links_recipients_cannot_open_are_named() -> None:
    assert unreachable_reason("http://127.0.0.1:8000") == "it is plain HTTP"
    assert unreachable_reason("https://localhost") is not None
    assert unreachable_reason("https://10.1.2.3") is not None
    assert unreachable_reason("https://outreach.acme.example") is None


async def test_doctor_fails_when_real_mail_would_link_to_this_machine(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        ws = await make_workspace(session, "Links")
        await make_mailbox(session, ws.id, from_email="sam@sender.example")
    checks = {c.name: c for c in await doctor.run(runtime)}
    assert not checks["links in email"].ok
    assert "PUBLIC_URL" in checks["links in email"].detail
    public = Runtime(
        runtime.settings.model_copy(update={"public_url": "https://outreach.acme.example"}),
        runtime.db,
    )
    assert {c.name: c for c in await doctor.run(public)}["links in email"].ok


async def test_a_not_found_page_keeps_the_app_around_it_when_signed_in(
    anon_client: Any, owner: Any
) -> None:
    from tests.support.accounts import browser_login

    await browser_login(anon_client, owner)
    page = await anon_client.get("/no/such/page", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert owner.workspace_name in page.text and 'href="/inbox"' in page.text

"""Enrichment and verification run with the workspace's own encrypted credential first, the
process-wide key otherwise: Hunter's documented email-finder and email-verifier requests are
answered by an httpx.MockTransport that records the key each request carried."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import dns.asyncresolver
import dns.exception
import httpx
import pytest
from sqlalchemy import select

from leadflood.auth import credentials
from leadflood.auth.principal import CurrentMember
from leadflood.enrichment import config as enrichment_settings
from leadflood.enrichment import verification as verifying
from leadflood.enrichment import waterfall as enrichment
from leadflood.enrichment.schemas import EnrichmentSettingsUpdate
from leadflood.models import EnrichmentRun, Lead, LeadStatus, Role, VerificationStatus, Workspace
from leadflood.providers.base import ProviderNotConfiguredError
from leadflood.providers.registry import ProviderRegistry
from leadflood.runtime import Runtime
from tests.factories import make_lead
from tests.support.accounts import Account, make_account
from tests.support.icps import make_icp
from tests.support.jobs import drain

FIXTURES = Path(__file__).parents[1] / "providers" / "fixtures"
ACME_KEY, GLOBEX_KEY = "acme-hunter-key", "globex-hunter-key"


class OfflineResolver(dns.asyncresolver.Resolver):
    """Every MX lookup times out at once: verification must not depend on the network."""

    def __init__(self) -> None:
        super().__init__(configure=False)
        self.nameservers = ["192.0.2.1"]

    async def resolve(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        raise dns.exception.Timeout()


class FakeHunter:
    """Answers Hunter's email-finder and email-verifier with the documented shapes and keeps
    (path, key) of every request."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.rsplit("/", 1)[-1]
        self.calls.append((path, request.headers.get("x-api-key")))
        fixture = {"email-finder": "hunter_email_finder.json"}.get(
            path, "hunter_email_verifier.json"
        )
        return httpx.Response(200, json=json.loads((FIXTURES / fixture).read_text()))


@pytest.fixture
async def hunter(runtime: Runtime) -> AsyncIterator[FakeHunter]:
    assert runtime.settings.hunter_api_key is None  # only workspace keys in these tests
    fake = FakeHunter()
    runtime.providers = ProviderRegistry(
        runtime.settings, transport=httpx.MockTransport(fake), resolver=OfflineResolver()
    )
    yield fake
    await runtime.providers.aclose()


async def _use_hunter(runtime: Runtime, account: Account, key: str | None) -> None:
    """Hunter first in the waterfall and as the verifier, with `key` stored (encrypted)."""
    async with runtime.db.session() as session:
        workspace = await session.get(Workspace, account.workspace_id)
        assert workspace is not None
        if key is not None:
            actor = CurrentMember(workspace=workspace, role=Role.owner)
            await credentials.set_secret(session, actor, "hunter", key)
        choice = EnrichmentSettingsUpdate(
            waterfall=["hunter"], wanted_fields=["title", "linkedin_url"], verifier="hunter"
        )
        await enrichment_settings.update(session, account.workspace_id, choice)


async def _patrick(runtime: Runtime, workspace_id: uuid.UUID) -> uuid.UUID:
    async with runtime.db.session() as session:
        lead = await make_lead(
            session, workspace_id, email="patrick@stripe.com", first_name="Patrick",
            last_name="Collison", company_domain="stripe.com",
        )  # fmt: skip
        return lead.id


async def _verify(runtime: Runtime, lead_id: uuid.UUID) -> Lead:
    async with runtime.db.session() as session:
        checked = await verifying.verify_lead(session, runtime.providers, lead_id, timeout=0.05)
    assert checked.lead is not None
    return checked.lead


async def test_verification_calls_hunter_with_each_workspace_own_key(
    runtime, hunter, owner, other_workspace
) -> None:
    await _use_hunter(runtime, owner, ACME_KEY)
    await _use_hunter(runtime, other_workspace, GLOBEX_KEY)

    acme = await _verify(runtime, await _patrick(runtime, owner.workspace_id))
    globex = await _verify(runtime, await _patrick(runtime, other_workspace.workspace_id))

    assert hunter.calls == [("email-verifier", ACME_KEY), ("email-verifier", GLOBEX_KEY)]
    for lead in (acme, globex):
        assert lead.verification_evidence["provider"]["name"] == "hunter"
        assert lead.verification_status == VerificationStatus.valid


async def test_enrichment_jobs_call_hunter_with_the_workspace_key(
    runtime, hunter, owner, client
) -> None:
    await _use_hunter(runtime, owner, ACME_KEY)
    lead_id = await _patrick(runtime, owner.workspace_id)

    started = await client.post(f"/v1/leads/{lead_id}/enrich")
    assert started.status_code == 202, started.text
    await drain(runtime)

    assert hunter.calls == [("email-finder", ACME_KEY)]
    lead = (await client.get(f"/v1/leads/{lead_id}")).json()
    assert (lead["status"], lead["title"], lead["linkedin_url"]) == (
        "enriched",
        "CEO",
        "https://www.linkedin.com/in/patrickcollison",
    )


async def test_a_workspace_without_a_key_is_provider_not_configured(
    runtime, app, hunter, owner, other_workspace
) -> None:
    await _use_hunter(runtime, owner, ACME_KEY)
    await _use_hunter(runtime, other_workspace, None)
    lead_id = await _patrick(runtime, other_workspace.workspace_id)

    async with runtime.db.session() as session:
        with pytest.raises(ProviderNotConfiguredError) as caught:
            await credentials.provider_key(
                session, runtime.providers, other_workspace.workspace_id, "hunter"
            )
    assert caught.value.code == "provider_not_configured"
    assert "Settings → Credentials" in str(caught.value)
    assert "HUNTER_API_KEY" in str(caught.value)

    # Acme's key never serves Globex: its verification falls back to our own checks...
    lead = await _verify(runtime, lead_id)
    assert lead.verification_evidence["provider_error"]["code"] == "provider_not_configured"
    # ...and its waterfall records why Hunter was skipped.
    async with runtime.db.session() as session:
        chain = await enrichment.waterfall_of(
            session, runtime.providers, other_workspace.workspace_id, ["hunter"]
        )
        outcome = await enrichment.enrich_lead(session, lead_id, chain, force=True)
    assert outcome.lead is not None and outcome.lead.status == LeadStatus.failed
    async with runtime.db.session() as session:
        run = await session.scalar(select(EnrichmentRun).where(EnrichmentRun.lead_id == lead_id))
    assert run is not None and run.error_code == "provider_not_configured"
    assert hunter.calls == []

    # Through the API the same lookup answers 503 (here for Apollo search runs).
    icp = await make_icp(runtime, other_workspace.workspace_id)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=other_workspace.headers
    ) as globex:
        response = await globex.post(f"/v1/icps/{icp.id}/search", json={"source": "apollo"})
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "provider_not_configured"
    assert "Settings → Credentials" in error["message"]


async def test_workspaces_with_different_keys_get_different_clients(
    runtime, hunter, owner, other_workspace
) -> None:
    third = await make_account(runtime, email="owner@initech.example", workspace="Initech")
    await _use_hunter(runtime, owner, ACME_KEY)
    await _use_hunter(runtime, other_workspace, GLOBEX_KEY)
    await _use_hunter(runtime, third, ACME_KEY)
    providers = runtime.providers

    async def chain_of(account: Account) -> list[Any]:
        async with runtime.db.session() as session:
            return list(
                await enrichment.waterfall_of(session, providers, account.workspace_id, ["hunter"])
            )

    async def key_of(account: Account) -> str | None:
        async with runtime.db.session() as session:
            return await credentials.provider_key(
                session, providers, account.workspace_id, "hunter"
            )

    [acme], [globex], [initech] = [await chain_of(a) for a in (owner, other_workspace, third)]
    assert acme is not globex
    assert acme is initech  # the same key: one client, one rate limiter
    # One client per key serves both enrichment and verification.
    assert providers.verifier("hunter", api_key=await key_of(owner)) is acme
    assert providers.verifier("hunter", api_key=await key_of(other_workspace)) is globex


async def test_settings_show_what_the_workspace_can_run(
    runtime, app, client, owner, other_workspace
) -> None:
    await _use_hunter(runtime, owner, ACME_KEY)
    mine = await client.get("/v1/settings/enrichment")
    assert mine.status_code == 200, mine.text
    assert mine.json()["configured_providers"] == {
        "sandbox": True,
        "apollo": False,
        "hunter": True,
    }
    page = await client.get("/settings/enrichment")
    assert page.status_code == 200
    assert "hunter (no key)" not in page.text and "apollo (no key)" in page.text

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=other_workspace.headers
    ) as globex:
        theirs = await globex.get("/v1/settings/enrichment")
    assert theirs.json()["configured_providers"]["hunter"] is False

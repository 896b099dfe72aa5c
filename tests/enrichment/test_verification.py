from __future__ import annotations

from decimal import Decimal

import dns.asyncresolver
import dns.exception
import pytest
from sqlalchemy import select

from leadflood.enrichment import verification as verifying
from leadflood.models import Lead, Verification, VerificationStatus
from leadflood.providers.registry import ProviderRegistry
from leadflood.providers.sandbox import SandboxVerifier, default_universe
from tests.factories import make_lead, use_sandbox
from tests.support.jobs import drain


class OfflineResolver(dns.asyncresolver.Resolver):
    """A resolver that never reaches a server: every lookup times out at once."""

    def __init__(self) -> None:
        super().__init__(configure=False)
        self.nameservers = ["192.0.2.1"]

    async def resolve(self, *args, **kwargs):  # type: ignore[override]
        raise dns.exception.Timeout()


@pytest.fixture
def offline(runtime):
    runtime.providers = ProviderRegistry(runtime.settings, resolver=OfflineResolver())
    return runtime


def _universe_email(status: str) -> str:
    verifier = SandboxVerifier()
    for person in default_universe().iter_people():
        if person.email and "bounce" not in person.email:
            company = verifier.universe.company_by_domain(person.email.split("@")[1])
            if company is not None and company.accept_all == (status == "risky"):
                return person.email
    raise AssertionError("no such person")


async def _verify(runtime, lead_id) -> verifying.Checked:
    async with runtime.db.session() as session:
        return await verifying.verify_lead(session, runtime.providers, lead_id, timeout=0.05)


async def test_sandbox_verdict_with_offline_mx_is_kept_with_its_evidence(offline, owner) -> None:
    async with offline.db.session() as session:
        await use_sandbox(session, owner.workspace_id)
        lead_id = (await make_lead(session, owner.workspace_id, email=_universe_email("valid"))).id
    checked = await _verify(offline, lead_id)
    assert checked.verification is not None
    async with offline.db.session() as session:
        lead = await session.get(Lead, lead_id)
        row = await session.scalar(select(Verification).where(Verification.lead_id == lead_id))
    assert lead.verification_status == VerificationStatus.valid
    assert lead.verified_at is not None
    evidence = lead.verification_evidence
    assert evidence["mx"]["status"] == "unknown"  # offline: unknown, never a crash
    assert evidence["provider"]["name"] == "sandbox"
    assert (row.status, row.provider, row.cost, row.evidence) == (
        "valid",
        "sandbox",
        Decimal(0),
        evidence,
    )


@pytest.mark.parametrize(
    ("email", "status", "reason"),
    [
        ("info@risky.example", "invalid", "no_mx"),
        ("someone@mailinator.com", "risky", "disposable"),
    ],
)
async def test_local_checks_flag_reserved_and_disposable_addresses(
    offline, owner, email, status, reason
) -> None:
    async with offline.db.session() as session:
        from leadflood.models import EnrichmentSettings

        session.add(
            EnrichmentSettings(
                workspace_id=owner.workspace_id, waterfall=["sandbox"], wanted_fields=["title"],
                verifier="none",
            )
        )  # fmt: skip
    async with offline.db.session() as session:
        lead_id = (await make_lead(session, owner.workspace_id, email=email)).id
    await _verify(offline, lead_id)
    async with offline.db.session() as session:
        lead = await session.get(Lead, lead_id)
    assert lead.verification_status == status
    assert lead.verification_evidence["reason"] == reason
    assert lead.verification_evidence["provider"] is None


async def test_a_lead_without_email_is_skipped(offline, owner) -> None:
    async with offline.db.session() as session:
        lead = Lead(workspace_id=owner.workspace_id, email=None, linkedin_url="https://x.test/in/a")
        session.add(lead)
    checked = await _verify(offline, lead.id)
    assert (checked.skipped, checked.verification) == ("no_email", None)


async def test_hunter_without_a_key_falls_back_to_our_checks(client, offline, owner) -> None:
    put = await client.put("/v1/settings/enrichment", json={"verifier": "hunter"})
    assert put.status_code == 200, put.text
    async with offline.db.session() as session:
        lead_id = (await make_lead(session, owner.workspace_id, email="ceo@mailinator.com")).id
    await _verify(offline, lead_id)
    async with offline.db.session() as session:
        lead = await session.get(Lead, lead_id)
    assert lead.verification_status == VerificationStatus.risky
    assert "HUNTER_API_KEY" in lead.verification_evidence["provider_error"]["message"]


async def test_verify_through_the_api_and_bulk(client, offline, owner) -> None:
    ids = []
    async with offline.db.session() as session:
        await use_sandbox(session, owner.workspace_id)
    for email in (_universe_email("valid"), "x@mailinator.com"):
        async with offline.db.session() as session:
            ids.append((await make_lead(session, owner.workspace_id, email=email)).id)
    single = await client.post(f"/v1/leads/{ids[0]}/verify")
    assert single.status_code == 202, single.text
    # The filter is read when the operation is planned: let the single check land first.
    await drain(offline)
    started = await client.post(
        "/v1/leads/bulk/verify", json={"filter": {"verification": "unverified"}}
    )
    assert started.status_code == 202, started.text
    await drain(offline)
    operation = (await client.get(f"/v1/leads/bulk/{started.json()['operation_id']}")).json()
    assert (operation["state"], operation["total"], operation["done"]) == ("completed", 1, 1)
    listed = (await client.get("/v1/leads", params={"verification": "risky"})).json()
    assert [item["email"] for item in listed["items"]] == ["x@mailinator.com"]
    detail = (await client.get(f"/v1/leads/{ids[0]}/detail")).json()
    assert detail["verification_evidence"]["provider"]["name"] == "sandbox"
    assert [e["kind"] for e in detail["timeline"]].count("verified") >= 1

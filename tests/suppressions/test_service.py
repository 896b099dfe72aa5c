from __future__ import annotations

import pytest

from leadflood.runtime import Runtime
from leadflood.suppressions import service as suppression
from leadflood.suppressions.service import InvalidSuppression
from tests.factories import make_lead, make_workspace


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("email", "  Jane.Doe@Example.COM ", "jane.doe@example.com"),
        ("domain", "@Example.com.", "example.com"),
        ("domain", "https://www.Example.com/about", "www.example.com"),
        ("phone", "+44 20 7946 0958", "+442079460958"),
        ("linkedin", "linkedin.com/in/Jane-Doe/", "https://www.linkedin.com/in/jane-doe"),
        ("linkedin", "https://uk.linkedin.com/in/jane-doe", "https://www.linkedin.com/in/jane-doe"),
    ],
)
def test_normalize(kind: str, value: str, expected: str) -> None:
    assert suppression.normalize(kind, value) == expected


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("email", "not-an-email"),
        ("domain", "localhost"),
        ("phone", "020 7946 0958"),
        ("linkedin", "https://example.com/in/x"),
        ("fax", "123"),
    ],
)
def test_normalize_rejects(kind: str, value: str) -> None:
    with pytest.raises(InvalidSuppression):
        suppression.normalize(kind, value)


async def test_reason_for_checks_workspace_global_and_domain(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        acme = await make_workspace(session, "Acme")
        other = await make_workspace(session, "Other")
        await suppression.add(session, acme.id, "email", "Gone@Example.com", "unsubscribed", "t")
        await suppression.add(session, None, "domain", "blocked.example", "do_not_contact", "t")
        await suppression.add(session, acme.id, "phone", "+1 415 555 0100", "manual", "t")
        await suppression.add(session, other.id, "email", "other@example.com", "manual", "t")

        assert await suppression.reason_for(session, acme.id, email="gone@example.com") == (
            "unsubscribed"
        )
        assert await suppression.reason_for(session, other.id, email="gone@example.com") is None
        assert await suppression.reason_for(session, other.id, email="x@Blocked.example") == (
            "do_not_contact"
        )
        assert await suppression.reason_for(session, acme.id, phone="+14155550100") == "manual"
        assert await suppression.reason_for(session, acme.id, email="other@example.com") is None
        assert await suppression.reason_for(session, acme.id) is None


async def test_add_is_idempotent_and_keeps_first_reason(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        ws = await make_workspace(session, "Acme")
        first = await suppression.add(session, ws.id, "email", "a@example.com", "bounced", "smtp")
        again = await suppression.add(session, ws.id, "email", "A@example.com", "manual", "ui")
        glob = await suppression.add(session, None, "email", "a@example.com", "manual", "cli")
        glob2 = await suppression.add(session, None, "email", "a@example.com", "manual", "cli")
        assert first.id == again.id and again.reason == "bounced"
        assert glob.id == glob2.id and glob.id != first.id
        with pytest.raises(InvalidSuppression):
            await suppression.add(session, ws.id, "email", "a@example.com", "because", "ui")


async def test_suppressed_lead_ids_is_one_set_based_query(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        ws = await make_workspace(session, "Acme")
        by_email = await make_lead(session, ws.id, email="Jane@Example.com")
        by_domain = await make_lead(session, ws.id, email="joe@competitor.example")
        by_phone = await make_lead(session, ws.id, email=None, phone="+14155550100")
        by_link = await make_lead(
            session, ws.id, email=None, linkedin_url="https://www.linkedin.com/in/Kim/"
        )
        clean = await make_lead(session, ws.id, email="ok@example.com", phone="+14155550199")
        await suppression.add(session, ws.id, "email", "jane@example.com", "unsubscribed", "t")
        await suppression.add(session, None, "domain", "competitor.example", "do_not_contact", "t")
        await suppression.add(session, ws.id, "phone", "+14155550100", "manual", "t")
        await suppression.add(session, ws.id, "linkedin", "linkedin.com/in/kim", "manual", "t")
        ids = [by_email.id, by_domain.id, by_phone.id, by_link.id, clean.id]
        found = await suppression.suppressed_lead_ids(session, ws.id, ids)
        assert found == {
            by_email.id: "unsubscribed",
            by_domain.id: "do_not_contact",
            by_phone.id: "manual",
            by_link.id: "manual",
        }
        assert await suppression.suppressed_lead_ids(session, ws.id, []) == {}


async def test_import_csv_reports_bad_rows(runtime: Runtime) -> None:
    content = (
        "value,kind\n"
        "a@example.com,\n"
        "spam.example,domain\n"
        "+44 20 7946 0958,\n"
        "https://linkedin.com/in/someone,\n"
        "nonsense value,email\n"
        "a@example.com,email\n"
    )
    async with runtime.db.session() as session:
        ws = await make_workspace(session, "Acme")
        report = await suppression.import_csv(session, ws.id, content.encode())
        assert report.added == 4
        assert report.existing == 1
        assert [r["line"] for r in report.rejected] == ["6"]
        assert await suppression.reason_for(session, ws.id, email="x@spam.example") == "imported"

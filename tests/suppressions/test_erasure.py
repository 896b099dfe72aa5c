"""Erasing a person: no trace of their identifiers anywhere but the hashed suppression list, and
they are never imported, created, found or contacted again."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from leadflood.imports import pipeline as import_pipeline
from leadflood.imports import service as importing
from leadflood.leads import identities
from leadflood.models import (
    AuditEvent,
    DeliveryAttempt,
    EnrichmentCache,
    EnrichmentRun,
    Enrollment,
    InboundItem,
    Lead,
    LeadImport,
    LeadImportRejection,
    Message,
    MessageStatus,
    OnDuplicate,
    SearchResult,
    SearchRun,
    Suppression,
    Thread,
    Verification,
)
from leadflood.providers.base import Prospect
from leadflood.runtime import Runtime
from leadflood.searches import store
from leadflood.suppressions import erasure
from leadflood.suppressions import service as suppression
from tests.factories import (
    make_bare_sequence,
    make_enrollment,
    make_lead,
    make_mailbox,
    make_replied_thread,
    make_workspace,
    queue_message,
)
from tests.support.icps import make_icp

TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=6, max_size=12)


async def _traces(session: Any, needles: list[str]) -> dict[str, int]:
    """{table: rows whose text holds one of `needles`}, over every table of the database."""
    tables = (
        await session.scalars(
            text(
                "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) "
                "FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
                "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
            )
        )
    ).all()
    found: dict[str, int] = {}
    for table in tables:
        hits = await session.scalar(
            text(f"SELECT count(*) FROM {table} AS t WHERE lower(t::text) LIKE ANY(:patterns)"),
            {"patterns": [f"%{needle.lower()}%" for needle in needles]},
        )
        if hits:
            found[table] = int(hits)
    return found


async def _person_everywhere(
    runtime: Runtime, workspace_id: uuid.UUID, ident: dict[str, str]
) -> Lead:
    """A lead whose identities are spread over every table that keeps a copy."""
    email, phone, linkedin = ident["email"], ident["phone"], ident["linkedin"]
    icp = await make_icp(runtime, workspace_id, name=f"ICP {uuid.uuid4().hex[:6]}")
    async with runtime.db.session() as session:
        lead = await make_lead(
            session, workspace_id, email=email, phone=phone, linkedin_url=linkedin,
            first_name=ident["first"], last_name=ident["last"], source="apollo",
            provider_person_id=ident["person"], custom_fields={"note": ident["first"]},
        )  # fmt: skip
        mailbox = await make_mailbox(session, workspace_id)
        sequence, steps = await make_bare_sequence(session, workspace_id, steps=2)
        enrollment = await make_enrollment(session, workspace_id, sequence.id, lead.id)
        sent = await queue_message(
            session, runtime.settings, mailbox, lead, enrollment=enrollment, step=steps[0],
            subject=f"Hello {ident['first']}",
        )  # fmt: skip
        sent.status = MessageStatus.sent
        queued = await queue_message(
            session, runtime.settings, mailbox, lead, enrollment=enrollment, step=steps[1]
        )
        session.add(
            DeliveryAttempt(
                workspace_id=workspace_id, message_id=sent.id, attempt=1, code="250",
                text=f"250 2.0.0 OK queued for <{email}>", classification="sent",
            )
        )  # fmt: skip
        session.add(
            Message(
                workspace_id=workspace_id, direction="inbound", channel="email",
                status=MessageStatus.sent, to_address=mailbox.from_email, from_address=email,
                subject="Re: hello", body_text=f"Thanks, {ident['first']}",
                send_after=datetime.now(UTC),
            )
        )  # fmt: skip
        session.add(
            EnrichmentCache(
                workspace_id=workspace_id, lead_id=lead.id, provider="apollo", found=True,
                result={"email": email, "phone": phone}, fetched_at=datetime.now(UTC),
            )
        )  # fmt: skip
        session.add(
            EnrichmentRun(
                workspace_id=workspace_id, lead_id=lead.id, provider="apollo", found=True,
                fields_changed=["phone"], error=f"partial answer for {email}",
            )
        )  # fmt: skip
        session.add(
            Verification(
                workspace_id=workspace_id, lead_id=lead.id, email=email, status="valid",
                evidence={"smtp": f"250 <{email}> ok"},
            )
        )  # fmt: skip
        run = SearchRun(
            workspace_id=workspace_id, icp_id=icp.id, source="apollo", params={},
            params_hash=uuid.uuid4().hex, run_day=date.today(),
        )  # fmt: skip
        session.add(run)
        await session.flush()
        session.add(
            SearchResult(
                workspace_id=workspace_id, run_id=run.id, source_id=ident["person"], page=1,
                raw={"email": email, "linkedin_url": linkedin}, lead_id=lead.id,
                outcome="created",
            )
        )  # fmt: skip
        imp = LeadImport(
            workspace_id=workspace_id, file_name="old.csv", stored_path="x.csv", size_bytes=1
        )
        session.add(imp)
        await session.flush()
        session.add(
            LeadImportRejection(
                import_id=imp.id, row_number=1, line=2, reasons=[],
                raw={"Email": email.upper(), "Name": "someone"},
            )
        )  # fmt: skip
        # Suppressions written by the engine (a bounce) and an instance-wide one.
        await suppression.add(session, workspace_id, "email", email, "bounced", "smtp")
        await suppression.add(session, None, "phone", phone, "do_not_contact", "t")
        await session.flush()
        assert queued.status == MessageStatus.queued
        return lead


def _identity(local: str, first: str, last: str, slug: str, digits: int) -> dict[str, str]:
    return {
        "email": f"{local}.x@{slug}-corp.example",
        "phone": f"+1415555{digits:04d}",
        "linkedin": f"https://www.linkedin.com/in/{slug}-{local}",
        "person": f"person-{local}{slug}",
        "first": f"F{first}",
        "last": f"L{last}",
    }


@settings(
    max_examples=6,
    deadline=None,
    # Each example builds a database's worth of rows: no shrinking, the failing values suffice.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    local=TOKEN, first=TOKEN, last=TOKEN, slug=TOKEN, digits=st.integers(100, 199),
)  # fmt: skip
async def test_erasure_leaves_no_trace_but_the_hashed_suppressions(
    runtime, local, first, last, slug, digits
):
    ident = _identity(local, first, last, slug, digits)
    async with runtime.db.session() as session:
        workspace = await make_workspace(session)
    lead = await _person_everywhere(runtime, workspace.id, ident)
    needles = [ident[k] for k in ("email", "phone", "person", "first", "last")]
    needles += [f"{slug}-{local}", ident["phone"].lstrip("+")]
    async with runtime.db.session() as session:
        assert set(await _traces(session, needles)) >= {
            "public.leads", "public.messages", "public.suppressions", "public.search_results",
        }  # fmt: skip

    async with runtime.db.session() as session:
        report = await erasure.erase_person(session, workspace.id, lead.id, None)
    assert report["identities_hashed"] == ["email", "linkedin", "person", "phone"]
    assert report["enrollments_stopped"] == 1
    assert report["messages_cancelled"] == 1

    async with runtime.db.session() as session:
        assert await _traces(session, needles) == {}
        assert await session.get(Lead, lead.id) is None
        # What must outlive the lead stays, without the person.
        messages = (
            await session.scalars(select(Message).where(Message.workspace_id == workspace.id))
        ).all()
        assert len(messages) == 3
        assert {m.status for m in messages} == {MessageStatus.sent, MessageStatus.cancelled}
        assert all(m.lead_id is None and m.to_address == "" for m in messages)
        assert (
            await session.scalar(
                select(func.count()).where(EnrichmentRun.workspace_id == workspace.id)
            )
            == 1
        )
        enrolled = select(func.count()).where(Enrollment.workspace_id == workspace.id)
        assert await session.scalar(enrolled) == 0
        entries = (
            await session.execute(
                select(Suppression.workspace_id, Suppression.kind, Suppression.value,
                       Suppression.reason)
                .where((Suppression.workspace_id == workspace.id)
                       | Suppression.workspace_id.is_(None))
            )
        ).all()  # fmt: skip
        digests = {
            identities.identity_digest("email", ident["email"]),
            identities.identity_digest("phone", ident["phone"]),
            identities.identity_digest("linkedin", ident["linkedin"]),
            identities.identity_digest("person", f"apollo:{ident['person']}"),
        }
        mine = [e for e in entries if e.value in digests]
        # The workspace's bounce and its erasure entry are one digest (the erasure's reason);
        # the instance-wide entry stays instance-wide with its reason.
        assert {(e.workspace_id, e.kind, e.reason) for e in mine} == {
            (workspace.id, "email", "erased"),
            (workspace.id, "phone", "erased"),
            (workspace.id, "linkedin", "erased"),
            (workspace.id, "person", "erased"),
            (None, "phone", "do_not_contact"),
        }
        event = await session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "lead.erased", AuditEvent.target_id == str(lead.id)
            )
        )
        assert event is not None
        assert event.details["scrubbed"]["messages"] == 3

        # Every check of the engine still knows them: by address, by lead, on every channel.
        assert await suppression.reason_for(session, workspace.id, email=ident["email"]) == (
            "erased"
        )
        twin = await make_lead(session, workspace.id, email=None, phone=ident["phone"])
        assert twin.id in await suppression.suppressed_lead_ids(session, workspace.id, [twin.id])
        assert await suppression.suppressed_emails(session, workspace.id, [ident["email"].upper()])
        await session.rollback()


async def test_an_erased_person_is_refused_by_creation_import_and_search(
    runtime, client, owner, tmp_path: Path
):
    ident = _identity("zoe", "zoe", "quinn", "zq", 150)
    lead = await _person_everywhere(runtime, owner.workspace_id, ident)
    erased = await client.post(f"/v1/leads/{lead.id}/erase")
    assert erased.status_code == 200, erased.text
    assert "zoe" not in erased.text.replace(str(lead.id), "")

    created = await client.post("/v1/leads", json={"email": ident["email"].upper()})
    assert created.status_code == 409
    assert created.json()["error"]["code"] == "erased"

    other = (await client.post("/v1/leads", json={"email": "ok@fine.example"})).json()
    moved = await client.patch(f"/v1/leads/{other['lead_id']}", json={"phone": ident["phone"]})
    assert moved.status_code == 409
    assert moved.json()["error"]["code"] == "erased"

    path = tmp_path / "again.csv"
    path.write_text(
        "Email,First Name,Phone,LinkedIn URL\r\n"
        f"{ident['email']},Zoe,,\r\n"
        f",Zoe,{ident['phone']},{ident['linkedin']}\r\n"
        "fresh@person.example,Fresh,,\r\n"
    )
    async with runtime.db.session() as session:
        imp = await importing.create_from_path(
            session, runtime.settings, owner.workspace_id, path, on_duplicate=OnDuplicate.update
        )
    imp = await import_pipeline.run(runtime.db, runtime.settings, imp.id)
    assert (imp.created, imp.updated, imp.rejected) == (1, 0, 2)
    async with runtime.db.session() as session:
        rejections = (
            await session.scalars(
                select(LeadImportRejection).where(LeadImportRejection.import_id == imp.id)
            )
        ).all()
        assert sorted(r.line for r in rejections) == [2, 3]
        assert all(r.reasons[0]["code"] == "erased" and r.raw == {} for r in rejections)
        assert await session.scalar(
            select(func.count()).where(Lead.workspace_id == owner.workspace_id,
                                       func.lower(Lead.email) == ident["email"])
        ) == 0  # fmt: skip

    icp = await make_icp(runtime, owner.workspace_id, name="Again")
    async with runtime.db.session() as session:
        run = SearchRun(
            workspace_id=owner.workspace_id, icp_id=icp.id, source="apollo", params={},
            params_hash=uuid.uuid4().hex, run_day=date.today(),
        )  # fmt: skip
        session.add(run)
        await session.flush()
        found = [
            Prospect(source_id=ident["person"], first_name="Zoe"),
            Prospect(source_id="p-2", email=ident["email"]),
            Prospect(source_id="p-3", first_name="New", email="new@person.example"),
        ]
        counts, _ = await store.store_page(session, run, 1, found)
        assert counts["rejected"] == 2 and counts["created"] == 1
        results = (
            await session.scalars(select(SearchResult).where(SearchResult.run_id == run.id))
        ).all()
        kept = [r for r in results if r.reason == "erased"]
        assert len(kept) == 2 and all(r.raw == {} for r in kept)
        assert all(r.source_id.startswith("sha256:") for r in kept)


async def test_delete_stops_outreach_keeps_history_and_credits(runtime, client, owner):
    ident = _identity("del", "del", "del", "dl", 160)
    lead = await _person_everywhere(runtime, owner.workspace_id, ident)
    response = await client.delete(f"/v1/leads/{lead.id}")
    assert response.status_code == 204
    assert (await client.delete(f"/v1/leads/{lead.id}")).status_code == 404
    async with runtime.db.session() as session:
        statuses = (
            await session.scalars(
                select(Message.status).where(Message.workspace_id == owner.workspace_id)
            )
        ).all()
        assert MessageStatus.queued not in statuses
        assert await session.scalar(
            select(func.count()).where(EnrichmentRun.workspace_id == owner.workspace_id)
        ) == 1  # fmt: skip
        assert await session.scalar(
            select(func.count()).where(Verification.workspace_id == owner.workspace_id)
        ) == 1  # fmt: skip
        event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "lead.deleted"))
        assert event is not None and event.target_id == str(lead.id)
        # A delete is not an erasure: the suppression entry stays readable.
        assert await suppression.reason_for(session, owner.workspace_id, email=ident["email"]) == (
            "bounced"
        )


async def test_bulk_delete_by_filter_runs_in_the_background_and_counts(runtime, client, owner):
    from tests.support.jobs import drain

    async with runtime.db.session() as session:
        for n in range(5):
            await make_lead(session, owner.workspace_id, email=f"p{n}@gone.io", score=10)
        await make_lead(session, owner.workspace_id, email="stays@kept.io", score=90)
    started = await client.post("/v1/leads/bulk/delete", json={"filter": {"score_max": 50}})
    assert started.status_code == 202, started.text
    body = started.json()
    assert body["count"] == 5
    await drain(runtime)
    operation = (await client.get(f"/v1/leads/bulk/{body['operation_id']}")).json()
    assert (operation["action"], operation["state"]) == ("delete", "completed")
    assert (operation["total"], operation["done"]) == (5, 5)
    left = (await client.get("/v1/leads")).json()["items"]
    assert [lead["email"] for lead in left] == ["stays@kept.io"]
    refused = await client.post("/v1/leads/bulk/delete", json={})
    assert refused.status_code == 422


async def test_erasure_erases_the_persons_inbound_mail(runtime, client, owner):
    async with runtime.db.session() as session:
        box = await make_mailbox(session, owner.workspace_id, from_email="sam@sender.example")
        lead = await make_lead(session, owner.workspace_id, email="ada@prospect.example")
        thread, reply = await make_replied_thread(
            session, runtime.settings, box, lead, body="Interested, call me on +44 20 7946 0000"
        )
    erased = await client.post(f"/v1/leads/{lead.id}/erase")
    assert erased.status_code == 200, erased.text
    async with runtime.db.session() as session:
        item = await session.get(InboundItem, reply.inbound_item_id)
        assert item is not None and item.raw is None and item.erased_at is not None
        kept = await session.get(Message, reply.id)
        assert kept is not None and kept.body_text == "" and kept.from_address is None
        assert kept.classification is not None and "evidence" not in kept.classification
        assert kept.classification["kind"] == "reply"
        row = await session.get(Thread, thread.id)
        assert row is not None and row.subject == ""

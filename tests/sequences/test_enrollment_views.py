"""Enrolling by filter asks once, with the number of matching leads counted by the server: an
empty filter matches the whole workspace. Without the confirmed count nobody is enrolled."""

from __future__ import annotations

import re
import uuid

import httpx
from sqlalchemy import func, select

from leadflood.leads import lists
from leadflood.leads.schemas import ListCreate, Selection
from leadflood.models import Enrollment, VerificationStatus
from leadflood.runtime import Runtime
from tests.factories import make_lead, make_mailbox, make_sequence
from tests.support.accounts import Account, browser_login, csrf_of


async def _setup(
    anon_client: httpx.AsyncClient, owner: Account, runtime: Runtime, leads: int = 12
) -> tuple[uuid.UUID, list[str], str]:
    await browser_login(anon_client, owner)
    async with runtime.db.session() as session:
        seq = await make_sequence(session, owner.workspace_id, activate=False)
        emails = []
        for i in range(leads):
            lead = await make_lead(
                session,
                owner.workspace_id,
                company_name="Navy" if i < 3 else "Initech",
                first_name="Ada",
                verification_status=VerificationStatus.valid,
            )
            emails.append(str(lead.email))
    token = csrf_of((await anon_client.get(f"/sequences/{seq.id}/enroll")).text)
    return seq.id, emails, token


async def _enrolled(runtime: Runtime, sequence_id: uuid.UUID) -> int:
    async with runtime.db.session() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Enrollment)
            .where(Enrollment.sequence_id == sequence_id)
        )
    return int(count or 0)


async def test_an_empty_filter_asks_with_the_count_and_enrolls_nobody_until_confirmed(
    anon_client: httpx.AsyncClient, owner: Account, runtime: Runtime
) -> None:
    sid, _, token = await _setup(anon_client, owner, runtime)
    asked = await anon_client.post(
        f"/sequences/{sid}/enroll", data={"source": "filter", "csrf_token": token}
    )
    assert asked.status_code == 200
    assert "Enroll all 12 leads matching this filter?" in asked.text
    assert "No filter: every lead of this workspace." in asked.text
    assert re.search(r'name="confirmed" value="12"', asked.text)
    assert "leads enrolled" not in asked.text
    assert await _enrolled(runtime, sid) == 0

    stale = await anon_client.post(
        f"/sequences/{sid}/enroll",
        data={"source": "filter", "confirmed": "11", "csrf_token": token},
    )
    assert "Enroll all 12 leads matching this filter?" in stale.text
    assert await _enrolled(runtime, sid) == 0

    confirmed = await anon_client.post(
        f"/sequences/{sid}/enroll",
        data={"source": "filter", "confirmed": "12", "csrf_token": token},
    )
    assert confirmed.status_code == 200 and "12 leads enrolled" in confirmed.text
    assert await _enrolled(runtime, sid) == 12


async def test_a_narrow_filter_asks_with_its_own_count_and_keeps_the_filter(
    anon_client: httpx.AsyncClient, owner: Account, runtime: Runtime
) -> None:
    sid, _, token = await _setup(anon_client, owner, runtime)
    asked = await anon_client.post(
        f"/sequences/{sid}/enroll", data={"source": "filter", "q": "Navy", "csrf_token": token}
    )
    assert "Enroll all 3 leads matching this filter?" in asked.text
    assert "Filter: search “Navy”." in asked.text
    confirm_form = asked.text.split('class="card result-card confirm-card"')[1].split("</form>")[0]
    assert 'name="q" value="Navy"' in confirm_form and 'name="confirmed" value="3"' in confirm_form
    done = await anon_client.post(
        f"/sequences/{sid}/enroll",
        data={"source": "filter", "q": "Navy", "confirmed": "3", "csrf_token": token},
    )
    assert "3 leads enrolled" in done.text
    assert await _enrolled(runtime, sid) == 3


async def test_explicit_lists_and_empty_matches_need_no_confirmation(
    anon_client: httpx.AsyncClient, owner: Account, runtime: Runtime
) -> None:
    sid, emails, token = await _setup(anon_client, owner, runtime)
    listed = await anon_client.post(
        f"/sequences/{sid}/enroll",
        data={"source": "selection", "lead_ids": "\n".join(emails[:2]), "csrf_token": token},
    )
    assert "2 leads enrolled" in listed.text and "matching this filter?" not in listed.text
    nothing = await anon_client.post(
        f"/sequences/{sid}/enroll", data={"source": "filter", "q": "zzzz", "csrf_token": token}
    )
    assert "No lead matches" in nothing.text and "matching this filter?" not in nothing.text
    assert await _enrolled(runtime, sid) == 2


async def test_the_page_and_the_count_endpoint_give_the_servers_count(
    anon_client: httpx.AsyncClient, owner: Account, runtime: Runtime, other_workspace: Account
) -> None:
    sid, _, _ = await _setup(anon_client, owner, runtime)
    async with runtime.db.session() as session:
        await make_lead(
            session,
            other_workspace.workspace_id,
            company_name="Navy",
            first_name="Ada",
            verification_status=VerificationStatus.valid,
        )
    page = await anon_client.get(f"/sequences/{sid}/enroll")
    assert "12 leads match this filter." in page.text
    assert f'data-count-url="/sequences/{sid}/enroll/count"' in page.text
    everyone = await anon_client.get(f"/sequences/{sid}/enroll/count")
    assert everyone.json() == {
        "count": 12,
        "question": "Enroll all 12 leads matching this filter?",
        "text": "12 leads match this filter.",
    }
    navy = await anon_client.get(f"/sequences/{sid}/enroll/count", params={"q": "navy"})
    assert navy.json()["count"] == 3
    bad = await anon_client.get(f"/sequences/{sid}/enroll/count", params={"min_score": "x"})
    assert bad.status_code == 422
    missing = await anon_client.get(
        f"/sequences/{uuid.uuid4()}/enroll/count", headers={"accept": "application/json"}
    )
    assert missing.status_code == 404
    script = (await anon_client.get("/static/enroll.js")).text
    assert "window.confirm(found.question)" in script and 'confirmed.name = "confirmed"' in script


async def test_the_enroll_form_enrolls_a_list(anon_client, runtime, owner) -> None:
    await browser_login(anon_client, owner)
    async with runtime.db.session() as session:
        ada = await make_lead(session, owner.workspace_id, email="ada@x.io")
        await make_lead(session, owner.workspace_id, email="bob@x.io")
        chosen = await lists.create(session, owner.workspace_id, ListCreate(name="Hot"), by=None)
        await lists.add_leads(
            session, owner.workspace_id, chosen.id, Selection(lead_ids=[ada.id]), by=None
        )
        mailbox = await make_mailbox(session, owner.workspace_id)
        sequence = await make_sequence(session, owner.workspace_id, mailboxes=[mailbox])
        await session.commit()
    page = await anon_client.get(f"/sequences/{sequence.id}/enroll?list_id={chosen.id}")
    assert "In the list" in page.text and f'value="{chosen.id}" selected' in page.text
    count = await anon_client.get(
        f"/sequences/{sequence.id}/enroll/count", params={"list_id": str(chosen.id)}
    )
    assert count.json()["count"] == 1
    form = {"csrf_token": csrf_of(page.text), "source": "filter", "list_id": str(chosen.id)}
    asked = await anon_client.post(f"/sequences/{sequence.id}/enroll", data=form)
    assert "Enroll the 1 lead matching this filter?" in asked.text
    await anon_client.post(f"/sequences/{sequence.id}/enroll", data={**form, "confirmed": "1"})
    async with runtime.db.session() as session:
        assert list(await session.scalars(select(Enrollment.lead_id))) == [ada.id]

"""The leads list's bulk "Add to list", "Add tag" and "Add to sequence" as plain forms."""

from __future__ import annotations

from sqlalchemy import select

from leadflood.models import Enrollment, Lead
from tests.factories import make_lead, make_mailbox, make_sequence
from tests.support.accounts import browser_login, csrf_of


async def test_tagging_all_matching_asks_once_with_the_count(anon_client, runtime, owner):
    client = anon_client
    await browser_login(client, owner)
    async with runtime.db.session() as session:
        for email in ("a@x.io", "b@x.io", "c@y.io"):
            await make_lead(session, owner.workspace_id, email=email)
        await session.commit()
    token = csrf_of((await client.get("/leads")).text)
    form = {"csrf_token": token, "do": "tag", "apply_to": "filter", "q": "@x.io", "tag_value": "Q3"}
    asked = await client.post("/leads/organize", data=form)
    assert asked.status_code == 200
    assert "Tag 2 leads matching this filter “Q3”?" in asked.text
    done = await client.post("/leads/organize", data={**form, "confirmed": "2"})
    assert done.status_code == 303 and "q=%40x.io" in done.headers["location"]
    async with runtime.db.session() as session:
        tags = dict((await session.execute(select(Lead.email, Lead.tags))).all())
    assert tags == {"a@x.io": ["q3"], "b@x.io": ["q3"], "c@y.io": []}
    stale = await client.post("/leads/organize", data={**form, "confirmed": "5"})
    assert stale.status_code == 200 and "matching this filter" in stale.text  # asks again
    nothing = await client.post("/leads/organize", data={"csrf_token": token, "do": "tag"})
    assert nothing.status_code == 422 and "Tick at least one lead" in nothing.text


async def test_add_to_sequence_asks_once_then_enrolls_the_ticked_leads(anon_client, runtime, owner):
    client = anon_client
    await browser_login(client, owner)
    async with runtime.db.session() as session:
        ada = await make_lead(session, owner.workspace_id, email="ada@x.io")
        await make_lead(session, owner.workspace_id, email="bob@x.io")
        mailbox = await make_mailbox(session, owner.workspace_id)
        sequence = await make_sequence(session, owner.workspace_id, mailboxes=[mailbox])
        await session.commit()
    page = await client.get("/leads")
    assert "Add to sequence" in page.text and sequence.name in page.text
    token = csrf_of(page.text)
    form = {"csrf_token": token, "sequence_id": str(sequence.id), "lead_ids": str(ada.id)}
    asked = await client.post("/leads/bulk-enroll", data=form)
    assert asked.status_code == 200 and f"Enroll 1 lead in “{sequence.name}”?" in asked.text
    done = await client.post("/leads/bulk-enroll", data={**form, "confirmed": "1"})
    assert done.status_code == 303, done.text
    landed = await client.get(done.headers["location"])
    assert f"Enrolled 1 in {sequence.name}." in landed.text
    async with runtime.db.session() as session:
        assert list(await session.scalars(select(Enrollment.lead_id))) == [ada.id]


async def test_the_lead_page_and_the_outbox_link_a_lead_and_its_messages(
    anon_client, runtime, owner, settings
):
    from leadflood.models import MessageStatus, SequenceStep
    from tests.factories import queue_message

    client = anon_client
    await browser_login(client, owner)
    async with runtime.db.session() as session:
        lead = await make_lead(session, owner.workspace_id, email="ada@x.io")
        mailbox = await make_mailbox(session, owner.workspace_id)
        sequence = await make_sequence(session, owner.workspace_id, mailboxes=[mailbox])
        step = await session.scalar(
            select(SequenceStep).where(SequenceStep.sequence_id == sequence.id)
        )
        message = await queue_message(session, settings, mailbox, lead, step=step)
        message.status = MessageStatus.unconfirmed
        message.error = "the connection broke during DATA"
        await session.commit()
    page = await client.get(f"/leads/{lead.id}")
    assert page.status_code == 200
    outreach = page.text.split('id="outreach-title"')[1].split('id="notes-title"')[0]
    assert 'data-status="unconfirmed"' in outreach
    assert "the connection broke during DATA" in outreach
    assert f'href="/outbox/{message.id}"' in outreach
    assert f'href="/sequences/{sequence.id}"' in outreach and "step 1" in outreach
    outbox = await client.get("/outbox")
    assert f'href="/leads/{lead.id}"' in outbox.text
    shown = await client.get(f"/outbox/{message.id}")
    assert f'href="/leads/{lead.id}"' in shown.text

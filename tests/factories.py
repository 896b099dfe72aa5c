"""Factories for tests: plain async functions with keyword defaults, session first. Each one adds
its rows and flushes; the caller's session commits (or not)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence as Seq
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import credentials
from leadflood.mailboxes import secrets as mailbox_secrets
from leadflood.models import (
    CredentialKind,
    Enrollment,
    Lead,
    Mailbox,
    Message,
    MessageStatus,
    Sequence,
    SequenceState,
    SequenceStep,
    Thread,
    Workspace,
)
from leadflood.sending.channels.email import new_message_id
from leadflood.sequences import service as sequences
from leadflood.sequences import steps as sequence_steps
from leadflood.sequences.schemas import SequenceCreate, StepCreate, VariantIn, WindowIn
from leadflood.settings import Settings
from leadflood.suppressions import unsubscribe

FIXED_NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)  # a Monday
POSTAL = "Acme Ltd, 1 Harbour Street, Bristol BS1 4AA, UK"
# Open around the clock (but for the last second of each day): delivery checks the window.
ALWAYS_OPEN = {"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "23:59:59"}


async def make_workspace(session: AsyncSession, name: str | None = None) -> Workspace:
    """A workspace with a unique slug: `name-<hex>`, or `ws-<hex>` for both without a name."""
    suffix = uuid.uuid4().hex[:6]
    slug = f"{name.lower()}-{suffix}" if name else f"ws-{suffix}"
    workspace = Workspace(name=name or slug, slug=slug)
    session.add(workspace)
    await session.flush()
    return workspace


async def make_lead(
    session: AsyncSession, workspace_id: uuid.UUID, *, email: str | None = "", **values: Any
) -> Lead:
    """A lead with the model's defaults (unverified, no name) but for `values`; `email` "" gives
    it a fresh address, None none."""
    if email == "":
        email = f"lead-{uuid.uuid4().hex[:10]}@example.com"
    lead = Lead(workspace_id=workspace_id, email=email, **values)
    session.add(lead)
    await session.flush()
    return lead


async def make_mailbox(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    name: str = "Sales",
    provider: str = "smtp",
    from_name: str = "Sam Sender",
    from_email: str | None = None,
    config: dict[str, Any] | None = None,
    daily_cap: int = 1000,
    min_gap_seconds: int = 0,
    jitter_seconds: int = 0,
    secret: str | None = None,
    settings: Settings | None = None,
    **values: Any,
) -> Mailbox:
    """An active mailbox (sending at once, no gap) with a fresh `from_email` unless given; a
    `secret` (SMTP password or API key) is stored in the store for secrets (encrypted with the
    session's settings; `settings` is accepted for the call sites that pass it)."""
    mailbox = Mailbox(
        workspace_id=workspace_id,
        name=name,
        provider=provider,
        from_name=from_name,
        from_email=from_email or f"sam-{uuid.uuid4().hex[:6]}@sender.example",
        config=config or {},
        daily_cap=daily_cap,
        min_gap_seconds=min_gap_seconds,
        jitter_seconds=jitter_seconds,
        **values,
    )
    if secret is not None:
        await mailbox_secrets.store(session, mailbox, secret=secret, dkim_key=None)
    session.add(mailbox)
    await session.flush()
    return mailbox


async def make_imap_mailbox(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    imap: dict[str, Any],
    **values: Any,
) -> Mailbox:
    """A mailbox reading replies over IMAP with `imap` as the API takes it (host, port,
    tls_mode, username, password, folders...), saved without the login check."""
    imap = dict(imap)
    password = str(imap.pop("password"))
    mailbox = await make_mailbox(session, workspace_id, **values)
    mailbox.imap = {"folders": ["INBOX"], "same_as_smtp": False, "poll_seconds": None} | imap
    mailbox.imap_secret_id = await credentials.store(
        session, workspace_id, provider="imap", kind=CredentialKind.imap_secret, secret=password
    )
    await session.flush()
    return mailbox


Step = tuple[int, str, str, str]  # (delay amount, unit, subject, body)
DEFAULT_STEPS: list[Step] = [
    (0, "hours", "Hello {{ first_name | default('there') }}", "Hi {{ first_name }},\nA note."),
    (2, "business_days", "", "Following up, {{ first_name | default('there') }}."),
]


async def make_sequence(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    mailboxes: Seq[Mailbox] = (),
    step_specs: Seq[Step] = tuple(DEFAULT_STEPS),
    window: dict[str, Any] | None = None,
    timezone: str = "UTC",
    postal_address: str = "Acme Inc, 1 Main Street, Springfield",
    stop_rules: dict[str, Any] | None = None,
    activate: bool = True,
    now: datetime = FIXED_NOW,
) -> Sequence:
    """A sequence made as the API makes one: its steps (one variant each) and mailboxes, then
    activated unless `activate` is False."""
    data = SequenceCreate(
        name=f"Sequence {uuid.uuid4().hex[:4]}",
        timezone=timezone,
        window=WindowIn(**(window or ALWAYS_OPEN)),
        postal_address=postal_address,
        mailbox_ids=[m.id for m in mailboxes],
        **({"stop_rules": stop_rules} if stop_rules is not None else {}),
    )
    sequence = await sequences.create(session, workspace_id, data)
    for amount, unit, subject, body in step_specs:
        await sequence_steps.add(
            session,
            workspace_id,
            sequence.id,
            StepCreate(
                delay_amount=amount,
                delay_unit=unit,  # type: ignore[arg-type]
                variants=[VariantIn(subject=subject, body=body)],
            ),
        )
    if activate:
        await sequences.transition(
            session, workspace_id, sequence.id, SequenceState.active, now=now
        )
    return await sequences.get(session, workspace_id, sequence.id)


async def make_bare_sequence(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    steps: int = 1,
    window: dict[str, Any] | None = None,
    timezone: str = "UTC",
    name: str = "Outreach",
) -> tuple[Sequence, list[SequenceStep]]:
    """An active sequence written straight to its tables, with `steps` bare steps (no variants,
    no mailboxes): what delivery reads of the sequence of a message queued by `queue_message`."""
    sequence = Sequence(
        workspace_id=workspace_id,
        name=name,
        state=SequenceState.active,
        postal_address=POSTAL,
        window=ALWAYS_OPEN if window is None else window,
        timezone=timezone,
    )
    session.add(sequence)
    await session.flush()
    made = []
    for position in range(1, steps + 1):
        step = SequenceStep(workspace_id=workspace_id, sequence_id=sequence.id, position=position)
        session.add(step)
        made.append(step)
    await session.flush()
    return sequence, made


async def make_enrollment(
    session: AsyncSession, workspace_id: uuid.UUID, sequence_id: uuid.UUID, lead_id: uuid.UUID
) -> Enrollment:
    enrollment = Enrollment(workspace_id=workspace_id, sequence_id=sequence_id, lead_id=lead_id)
    session.add(enrollment)
    await session.flush()
    return enrollment


async def queue_message(
    session: AsyncSession,
    settings: Settings,
    mailbox: Mailbox,
    lead: Lead,
    *,
    enrollment: Enrollment | None = None,
    step: SequenceStep | None = None,
    with_unsubscribe: bool = True,
    send_after: datetime | None = None,
    subject: str = "Quick question",
) -> Message:
    """A queued message as the scheduler makes it (headers and footer included unless
    `with_unsubscribe` is False, in which case delivery must add them)."""
    assert lead.email is not None
    headers: dict[str, str] = {}
    body = f"Hi {lead.first_name or 'there'},\n\nWould a short call make sense?"
    if with_unsubscribe:
        token = await unsubscribe.issue_token(session, lead.workspace_id, lead.id, lead.email)
        headers = unsubscribe.headers(settings, token, mailto=mailbox.from_email)
        body += unsubscribe.footer(settings, token, POSTAL)[0]
    message = Message(
        workspace_id=lead.workspace_id,
        enrollment_id=enrollment.id if enrollment else None,
        step_id=step.id if step else None,
        lead_id=lead.id,
        mailbox_id=mailbox.id,
        to_address=lead.email,
        from_address=mailbox.from_email,
        subject=subject,
        body_text=body,
        headers=headers,
        message_id=new_message_id("sender.example"),
        send_after=send_after or datetime.now(UTC),
    )
    session.add(message)
    await session.flush()
    return message


def reply_mail(
    in_reply_to: str | None,
    body: str,
    *,
    sender: str = "ada@prospect.example",
    to: str = "sam@sender.example",
    subject: str = "Re: Quick question",
    message_id: str | None = None,
) -> bytes:
    """A plain-text answer as a mail client sends it, threaded to `in_reply_to`."""
    threading = (
        f"In-Reply-To: {in_reply_to}\r\nReferences: {in_reply_to}\r\n" if in_reply_to else ""
    )
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id or f'<{uuid.uuid4()}@prospect.example>'}\r\n{threading}"
        f"Date: Mon, 3 Mar 2025 16:00:00 +0000\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


async def make_replied_thread(
    session: AsyncSession,
    settings: Settings,
    mailbox: Mailbox,
    lead: Lead,
    *,
    body: str = "Sounds interesting, can we talk on Thursday?",
    sequence: Sequence | None = None,
    step: SequenceStep | None = None,
    sent_at: datetime = FIXED_NOW,
    replied_at: datetime | None = None,
) -> tuple[Thread, Message]:
    """A sequence's first email to `lead`, sent, and the lead's answer through the inbox's own
    processing (so the enrollment stops, the thread opens, the answer is classified): the thread
    and the answer."""
    from leadflood.inbox import process, store

    if sequence is None or step is None:
        sequence, (step,) = await make_bare_sequence(session, lead.workspace_id)
    enrollment = await make_enrollment(session, lead.workspace_id, sequence.id, lead.id)
    sent = await queue_message(
        session, settings, mailbox, lead, enrollment=enrollment, step=step, send_after=sent_at
    )
    sent.status, sent.sent_at, sent.attempts = MessageStatus.sent, sent_at, 1
    await session.flush()
    at = replied_at or sent_at + timedelta(hours=1)
    raw = reply_mail(sent.message_id, body, sender=lead.email or "", to=mailbox.from_email)
    mail = store.RawMail(raw=raw, folder="INBOX", uidvalidity=1, uid=1, delivered_at=at)
    await process.ingest(
        session, lead.workspace_id, [mail], source="imap", mailbox_id=mailbox.id, now=at
    )
    thread = (
        await session.scalars(select(Thread).where(Thread.enrollment_id == enrollment.id))
    ).one()
    answer = (
        await session.scalars(
            select(Message).where(Message.thread_id == thread.id, Message.direction == "inbound")
        )
    ).one()
    return thread, answer


TABLES = (
    "delivery_attempts",
    "messages",
    "unsubscribe_tokens",
    "enrollments",
    "step_variants",
    "sequence_steps",
    "sequence_mailboxes",
    "sequences",
    "suppressions",
    "mailboxes",
    "leads",
)


async def clean(session: AsyncSession) -> None:
    """Empty the sequences tables between Hypothesis examples (one database per test)."""
    await session.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))


SANDBOX_SETTINGS = {"waterfall": ["sandbox"], "verifier": "sandbox"}


def universe_email(start: int = 0) -> str:
    """The address of a person of the sandbox's synthetic universe (the only people the
    sandbox enricher finds), the first one with an email from `start` on."""
    from leadflood.providers.sandbox import default_universe

    universe = default_universe()
    for index in range(start, len(universe)):
        email = universe.person(index).email
        if email and "bounce" not in email:
            return email
    raise LookupError("no universe person with an email")


async def use_sandbox(session: AsyncSession, workspace_id: uuid.UUID) -> None:
    """Choose the sandbox as the workspace's enricher and verifier, as the demo does."""
    from leadflood.enrichment import config as enrichment_settings

    await enrichment_settings.update(session, workspace_id, enrichment_settings.sandbox_only())


async def add_worker_heartbeat(session: AsyncSession, *, seconds_ago: int = 0) -> None:
    """A worker as the queue records it, with its last heartbeat `seconds_ago` (0: beating)."""
    await session.execute(
        text(
            "INSERT INTO procrastinate_workers (last_heartbeat) "
            "VALUES (now() - make_interval(secs => :ago))"
        ),
        {"ago": seconds_ago},
    )

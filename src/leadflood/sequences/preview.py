"""A dry run: when each remaining step would go to a lead (in the lead's zone) and what it
would say. Nothing is written. Mailbox gaps and caps are not simulated: the dates are the
earliest the windows and delays allow."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.mailboxes.windows import add_delay, next_open, resolve_zone
from leadflood.models import (
    Company,
    Enrollment,
    Lead,
    Mailbox,
    MailboxState,
    Sequence,
    sequence_mailboxes,
)
from leadflood.sending.channels import email as email_channel
from leadflood.sequences.compose import Previous, render_step
from leadflood.sequences.errors import InvalidTemplate
from leadflood.sequences.scheduler import sequence_window
from leadflood.sequences.schemas import PlannedStep
from leadflood.sequences.templating import TemplateError
from leadflood.settings import Settings

PREVIEW_TOKEN = "preview-only-not-a-real-token"


async def _sender(
    session: AsyncSession, sequence: Sequence, enrollment: Enrollment | None
) -> Mailbox | None:
    if enrollment is not None and enrollment.mailbox_id is not None:
        sticky = await session.get(Mailbox, enrollment.mailbox_id)
        if sticky is not None:
            return sticky
    mailbox: Mailbox | None = await session.scalar(
        select(Mailbox)
        .join(sequence_mailboxes, sequence_mailboxes.c.mailbox_id == Mailbox.id)
        .where(sequence_mailboxes.c.sequence_id == sequence.id)
        .order_by((Mailbox.state == MailboxState.active).desc(), Mailbox.created_at)
        .limit(1)
    )
    return mailbox


async def timeline(
    session: AsyncSession,
    sequence: Sequence,
    lead: Lead,
    now: datetime,
    *,
    settings: Settings | None = None,
) -> list[PlannedStep]:
    """`sequence` must have its steps and variants loaded (sequences.service.get)."""
    enrollment: Enrollment | None = await session.scalar(
        select(Enrollment).where(
            Enrollment.sequence_id == sequence.id, Enrollment.lead_id == lead.id
        )
    )
    zone = resolve_zone(lead.timezone, sequence.timezone)
    window = sequence_window(sequence)
    mailbox = await _sender(session, sequence, enrollment)
    company = await session.get(Company, lead.company_id) if lead.company_id else None
    first = 1
    anchor = now
    previous: Previous | None = None
    if enrollment is not None:
        first = enrollment.next_step
        anchor = enrollment.created_at
        last = (
            await session.execute(
                text(
                    "SELECT send_after, message_id, subject FROM messages "
                    "WHERE enrollment_id = :e AND direction = 'outbound' "
                    "AND status <> 'cancelled' ORDER BY send_after DESC LIMIT 1"
                ),
                {"e": enrollment.id},
            )
        ).first()
        if last is not None:
            previous = Previous(send_after=last[0], message_id=last[1], subject=last[2])
            anchor = last[0]
    planned: list[PlannedStep] = []
    for step in sequence.steps:
        if step.position < first or not step.variants:
            continue
        earliest = add_delay(
            anchor,
            amount=step.delay_amount,
            unit=step.delay_unit,  # type: ignore[arg-type]
            zone=zone,
        )
        send_at = next_open(window, zone, max(earliest, now))
        try:
            rendered = render_step(
                sequence=sequence,
                step=step,
                lead=lead,
                company=company,
                mailbox=mailbox,
                previous=previous,
            )
        except TemplateError as exc:
            raise InvalidTemplate(exc, field=f"step {step.position}", variant="") from None
        body = rendered.text
        if settings is not None:
            body = email_channel.with_footer(
                settings, PREVIEW_TOKEN, sequence.postal_address, rendered.text, None
            )[0]
        local = send_at.astimezone(zone)
        planned.append(
            PlannedStep(
                position=step.position,
                step_id=step.id,
                variant=rendered.variant.label,
                send_at=send_at,
                local_time=local.strftime("%a %Y-%m-%d %H:%M"),
                timezone=str(zone),
                subject=rendered.subject,
                body=body,
            )
        )
        previous = Previous(send_after=send_at, message_id="", subject=rendered.subject)
        anchor = send_at
    return planned

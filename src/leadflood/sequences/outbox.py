"""The messages one tick queues: each step rendered for its lead, then handed to the sending
engine's `Queue`, which builds and inserts them together (see `sending.service`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.logging import get_logger
from leadflood.models import (
    Company,
    Enrollment,
    Lead,
    Mailbox,
    SequenceStep,
)
from leadflood.models import Sequence as SequenceRow
from leadflood.sending import service as sending
from leadflood.sending.channels import Outbound
from leadflood.sequences.compose import Previous, render_step
from leadflood.sequences.templating import TemplateError
from leadflood.settings import Settings

log = get_logger("leadflood.sequences.outbox")


class Outbox:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.queue = sending.Queue(session, settings)

    async def add(
        self,
        *,
        enrollment: Enrollment,
        sequence: SequenceRow,
        step: SequenceStep,
        lead: Lead,
        company: Company | None,
        mailbox: Mailbox,
        previous: Previous | None,
        send_after: datetime,
    ) -> uuid.UUID | None:
        """The new message's id, or None when its template cannot render."""
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
            log.warning(
                "scheduler.template_error",
                enrollment_id=str(enrollment.id),
                step=step.position,
                code=exc.code,
                error=exc.message,
            )
            return None
        assert lead.email is not None
        return self.queue.add(
            Outbound(
                workspace_id=enrollment.workspace_id,
                mailbox=mailbox,
                to=lead.email,
                send_after=send_after,
                subject=rendered.subject,
                body_text=rendered.text,
                body_html=rendered.html,
                postal_address=sequence.postal_address,
                lead_id=lead.id,
                enrollment_id=enrollment.id,
                step_id=step.id,
                variant_id=rendered.variant.id,
                in_reply_to=rendered.in_reply_to,
            )
        )

    def mailbox_ids(self) -> set[uuid.UUID]:
        return self.queue.mailbox_ids()

    async def flush(self) -> int:
        return await self.queue.flush()

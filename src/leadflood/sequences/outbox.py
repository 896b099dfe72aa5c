"""The messages one tick queues: rendered, with the unsubscribe footer and headers and a fixed
Message-ID, inserted together in one statement that skips any (enrollment, step) already
recorded — a re-run or a concurrent tick never doubles a step."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.logging import get_logger
from leadflood.models import (
    Company,
    Enrollment,
    Lead,
    Mailbox,
    Message,
    MessageStatus,
    SequenceStep,
    UnsubscribeToken,
)
from leadflood.models import Sequence as SequenceRow
from leadflood.sending import delivery
from leadflood.sequences.compose import Previous, render_step, with_footer
from leadflood.sequences.templating import TemplateError
from leadflood.settings import Settings
from leadflood.suppressions import unsubscribe

log = get_logger("leadflood.sequences.outbox")


def sender_domain(mailbox: Mailbox) -> str:
    return mailbox.from_email.rpartition("@")[2] or "localhost"


class Outbox:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.rows: list[dict[str, Any]] = []
        self.tokens: list[dict[str, Any]] = []

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
        # Stored with the batch in one statement instead of `issue_token`'s flush per message.
        token = unsubscribe.new_token()
        self.tokens.append(
            {
                "token": token,
                "workspace_id": enrollment.workspace_id,
                "lead_id": lead.id,
                "email": lead.email,
            }
        )
        headers = unsubscribe.headers(
            self.settings, token, mailto=mailbox.reply_to or mailbox.from_email
        )
        body_text, body_html = with_footer(
            rendered, unsubscribe.footer(self.settings, token, sequence.postal_address)
        )
        message_id = uuid.uuid4()
        self.rows.append(
            {
                "id": message_id,
                "workspace_id": enrollment.workspace_id,
                "enrollment_id": enrollment.id,
                "step_id": step.id,
                "variant_id": rendered.variant.id,
                "lead_id": lead.id,
                "mailbox_id": mailbox.id,
                "channel": "email",
                "direction": "outbound",
                "status": MessageStatus.queued,
                "to_address": lead.email,
                "from_address": mailbox.from_email,
                "subject": rendered.subject,
                "body_text": body_text,
                "body_html": body_html,
                "headers": headers,
                "message_id": delivery.new_message_id(sender_domain(mailbox)),
                "in_reply_to": rendered.in_reply_to,
                "provider": mailbox.provider,
                "send_after": send_after,
                "attempts": 0,
            }
        )
        return message_id

    def mailbox_ids(self) -> set[uuid.UUID]:
        return {row["mailbox_id"] for row in self.rows}

    async def flush(self) -> int:
        if not self.rows:
            return 0
        await self.session.execute(insert(UnsubscribeToken), self.tokens)
        self.tokens = []
        statement = (
            insert(Message)
            .on_conflict_do_nothing(
                index_elements=["enrollment_id", "step_id"],
                index_where=text("direction = 'outbound'"),
            )
            .returning(Message.id)
        )
        inserted = await self.session.execute(statement, self.rows)
        count = len(inserted.all())
        self.rows = []
        return count

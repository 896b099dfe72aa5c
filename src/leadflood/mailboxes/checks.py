"""Checking a saved mailbox on demand: build its sender and, for SMTP, really log in. The
answer is a verdict (ok or the error to fix), never an exception."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth.crypto import UndecryptableSecret
from leadflood.mailboxes import service as mailboxes


class MailboxCheck(BaseModel):
    ok: bool
    error: str | None = None
    code: str | None = None
    checked_at: datetime


async def check(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    mailbox_id: uuid.UUID,
    *,
    smtp_check: mailboxes.SmtpCheck | None = None,
) -> MailboxCheck:
    mailbox = await mailboxes.get(session, workspace_id, mailbox_id)
    now = datetime.now(UTC)
    try:
        # The same check as on save (mailboxes.create/update), so the verdicts agree.
        await mailboxes.check_sender(session, mailbox, smtp_check)
    except mailboxes.MailboxCheckFailed as exc:
        code = exc.details.get("code") if isinstance(exc.details, dict) else None
        return MailboxCheck(ok=False, error=exc.message, code=code, checked_at=now)
    except UndecryptableSecret:
        return MailboxCheck(
            ok=False,
            error="The saved secret cannot be decrypted with ENCRYPTION_KEYS; enter it again.",
            code="undecryptable_secret",
            checked_at=now,
        )
    return MailboxCheck(ok=True, checked_at=now)

"""A mailbox's secrets (SMTP password or API key, DKIM private key), kept in the one store for
secrets (`auth.credentials`, encrypted at rest with the key ring) and referenced by the mailbox.
Only `sender_config` ever reads them back."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import credentials
from leadflood.models import CredentialKind, Mailbox


async def store(
    session: AsyncSession, mailbox: Mailbox, *, secret: str | None, dkim_key: str | None
) -> None:
    """Set the secrets that are given (None leaves one as it is, "" removes it)."""
    if secret is not None:
        mailbox.secret_id = await _put(
            session, mailbox, CredentialKind.mailbox_secret, secret, mailbox.secret_id
        )
    if dkim_key is not None:
        mailbox.dkim_key_id = await _put(
            session, mailbox, CredentialKind.dkim_key, dkim_key, mailbox.dkim_key_id
        )


async def _put(
    session: AsyncSession,
    mailbox: Mailbox,
    kind: CredentialKind,
    value: str,
    current: uuid.UUID | None,
) -> uuid.UUID | None:
    """The credential holding `value` (the current one rewritten), or None once "" removed it."""
    if value:
        return await credentials.store(
            session, mailbox.workspace_id, provider=mailbox.provider, kind=kind, secret=value,
            credential_id=current,
        )  # fmt: skip
    # The mailbox's reference is cleared by the caller (and by ON DELETE SET NULL meanwhile).
    await credentials.forget(session, current)
    return None


async def sender_config(session: AsyncSession, mailbox: Mailbox) -> dict[str, Any]:
    """The `build_email_sender` config of this mailbox, secrets decrypted."""
    config: dict[str, Any] = dict(mailbox.config or {})
    secret = await credentials.reveal(session, mailbox.secret_id)
    if mailbox.provider == "smtp":
        if secret is not None:
            config["password"] = secret
        dkim_key = await credentials.reveal(session, mailbox.dkim_key_id)
        if dkim_key and mailbox.dkim_selector and mailbox.dkim_domain:
            config |= {
                "dkim_selector": mailbox.dkim_selector,
                "dkim_domain": mailbox.dkim_domain,
                "dkim_private_key": dkim_key,
            }
    elif secret is not None:
        config["api_key"] = secret
    return config

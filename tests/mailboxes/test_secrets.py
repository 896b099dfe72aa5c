"""A mailbox's secrets live in the one store for secrets: encrypted, referenced by the mailbox,
never listed as a workspace's provider key, re-encrypted by key rotation, read back only for
sending."""

from __future__ import annotations

from typing import Any

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from leadflood.auth import credentials
from leadflood.auth.crypto import keyring
from leadflood.mailboxes import secrets as mailbox_secrets
from leadflood.models import CredentialKind, Mailbox, ProviderCredential
from tests.support.accounts import Account


async def test_a_mailbox_secret_is_a_referenced_credential_that_rotates(
    client: httpx.AsyncClient, runtime: Any, owner: Account
) -> None:
    created = await client.post(
        "/v1/mailboxes",
        json={
            "name": "Postmark",
            "provider": "postmark",
            "from_email": "sam@sender.example",
            "api_key": "pm-server-token-1",
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["has_secret"] is True and "pm-server-token-1" not in created.text
    assert (await client.get("/v1/credentials")).json() == []  # not a provider key

    async with runtime.db.sessions() as session:
        mailbox = await session.get(Mailbox, created.json()["id"])
        assert mailbox is not None and mailbox.secret_id is not None
        row = await session.get(ProviderCredential, mailbox.secret_id)
        assert row is not None and row.kind == CredentialKind.mailbox_secret
        assert "pm-server-token-1" not in row.ciphertext
        assert (await mailbox_secrets.sender_config(session, mailbox))["api_key"] == (
            "pm-server-token-1"
        )

    old = keyring(runtime.settings).keys[0].decode()
    runtime.settings.encryption_keys = [Fernet.generate_key().decode(), old]
    async with runtime.db.session() as session:
        assert await credentials.rotate(session) == 1
    runtime.settings.encryption_keys = runtime.settings.encryption_keys[:1]
    async with runtime.db.session() as session:
        mailbox = await session.get(Mailbox, created.json()["id"])
        assert mailbox is not None
        assert (await mailbox_secrets.sender_config(session, mailbox))["api_key"] == (
            "pm-server-token-1"
        )

    # A new secret replaces the stored one in place; the mailbox's deletion removes it.
    mailbox_id = created.json()["id"]
    changed = await client.patch(f"/v1/mailboxes/{mailbox_id}", json={"api_key": "pm-token-2"})
    assert changed.status_code == 200, changed.text
    async with runtime.db.sessions() as session:
        rows = (await session.scalars(select(ProviderCredential))).all()
        mailbox = await session.get(Mailbox, mailbox_id)
        assert mailbox is not None and [r.id for r in rows] == [mailbox.secret_id]
        assert (await mailbox_secrets.sender_config(session, mailbox))["api_key"] == "pm-token-2"
    assert (await client.delete(f"/v1/mailboxes/{mailbox_id}")).status_code == 204
    async with runtime.db.sessions() as session:
        assert await session.scalar(text("SELECT count(*) FROM provider_credentials")) == 0

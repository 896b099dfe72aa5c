"""The one store for secrets at rest (`provider_credentials`, encrypted with the key ring): a
workspace's provider keys (one per provider, `set_secret`/`get_secret`) and the secrets other
rows reference (a mailbox's password, API key or DKIM key: `store`/`reveal`). Secrets go in
and are read only here; nothing returns or logs them."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import audit
from leadflood.auth.crypto import Keyring, keyring
from leadflood.auth.errors import CredentialNotFound, UnknownProvider
from leadflood.auth.principal import CurrentMember
from leadflood.db.scope import scoped
from leadflood.models import CredentialKind, ProviderCredential
from leadflood.providers.registry import KEYED, ProviderRegistry
from leadflood.settings import Settings


def _keys(session: AsyncSession) -> Keyring:
    settings: Settings = session.info["settings"]
    return keyring(settings)


async def _find(
    session: AsyncSession, workspace_id: uuid.UUID, provider: str, *, for_update: bool = False
) -> ProviderCredential | None:
    query = scoped(ProviderCredential, workspace_id).where(
        ProviderCredential.provider == provider,
        ProviderCredential.kind == CredentialKind.provider_key,
    )
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def set_secret(
    session: AsyncSession, actor: CurrentMember, provider: str, secret: str
) -> ProviderCredential:
    """Stores the key of one of the providers that read workspace keys (KEYED); any other name
    would be kept and never used, so it is refused."""
    if provider not in KEYED:
        raise UnknownProvider(details={"provider": provider, "allowed": list(KEYED)})
    ciphertext, version = _keys(session).encrypt(secret)
    row = await _find(session, actor.workspace_id, provider, for_update=True)
    created = row is None
    if row is None:
        row = ProviderCredential(
            id=uuid.uuid4(),
            workspace_id=actor.workspace_id,
            provider=provider,
            ciphertext=ciphertext,
            key_version=version,
        )
        session.add(row)
    else:
        row.ciphertext, row.key_version = ciphertext, version
    await session.flush()
    await session.refresh(row)
    await audit.record(
        session,
        "credential.created" if created else "credential.updated",
        actor=actor,
        target_type="provider_credential",
        target_id=provider,
    )
    return row


async def delete(session: AsyncSession, actor: CurrentMember, provider: str) -> None:
    row = await _find(session, actor.workspace_id, provider, for_update=True)
    if row is None:
        raise CredentialNotFound()
    await session.delete(row)
    await session.flush()
    await audit.record(
        session,
        "credential.deleted",
        actor=actor,
        target_type="provider_credential",
        target_id=provider,
    )


async def list_all(session: AsyncSession, workspace_id: uuid.UUID) -> list[ProviderCredential]:
    query = (
        scoped(ProviderCredential, workspace_id)
        .where(ProviderCredential.kind == CredentialKind.provider_key)
        .order_by(ProviderCredential.provider)
    )
    return list((await session.scalars(query)).all())


async def get_secret(session: AsyncSession, workspace_id: uuid.UUID, provider: str) -> str | None:
    """The decrypted secret of `provider` in this workspace, or None when none is stored."""
    row = await _find(session, workspace_id, provider)
    return None if row is None else _keys(session).decrypt(row.ciphertext)


async def provider_key(
    session: AsyncSession, providers: ProviderRegistry, workspace_id: uuid.UUID, provider: str
) -> str | None:
    """The API key `provider` runs with in this workspace: its stored credential first, then
    the process-wide setting (APOLLO_API_KEY...). None for a provider that needs no key (the
    sandbox); with neither, ProviderNotConfiguredError (503 provider_not_configured). Search
    runs, enrichment and verification all get their keys here."""
    if provider not in KEYED:
        return None
    return providers.key_for(provider, await get_secret(session, workspace_id, provider))


async def store(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    provider: str,
    kind: CredentialKind,
    secret: str,
    credential_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Encrypt `secret` into the row `credential_id` (replacing what it held) or a new row; its
    id, for the row that references it."""
    ciphertext, version = _keys(session).encrypt(secret)
    row = await session.get(ProviderCredential, credential_id) if credential_id else None
    if row is None or row.workspace_id != workspace_id:
        row = ProviderCredential(
            id=uuid.uuid4(), workspace_id=workspace_id, provider=provider, kind=kind,
            ciphertext=ciphertext, key_version=version,
        )  # fmt: skip
        session.add(row)
    else:
        row.provider, row.ciphertext, row.key_version = provider, ciphertext, version
    await session.flush()
    return row.id


async def reveal(session: AsyncSession, credential_id: uuid.UUID | None) -> str | None:
    """The decrypted secret of a referenced credential (None when there is none)."""
    if credential_id is None:
        return None
    row = await session.get(ProviderCredential, credential_id)
    return None if row is None else _keys(session).decrypt(row.ciphertext)


async def forget(session: AsyncSession, credential_id: uuid.UUID | None) -> None:
    if credential_id is not None:
        row = await session.get(ProviderCredential, credential_id)
        if row is not None:
            await session.delete(row)
            await session.flush()


async def rotate(session: AsyncSession) -> int:
    """Re-encrypt every secret not under the current key (after putting a new key first in
    ENCRYPTION_KEYS); returns how many changed. Old keys can be dropped afterwards."""
    keys = _keys(session)
    rows = await session.scalars(
        select(ProviderCredential)
        .where(ProviderCredential.key_version != keys.current_version)
        .with_for_update()
    )
    changed = 0
    for row in rows:
        row.ciphertext, row.key_version = keys.rotate(row.ciphertext)
        changed += 1
    await session.flush()
    return changed

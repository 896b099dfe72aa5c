"""A mailbox's secrets (SMTP password or API key, DKIM private key), encrypted at rest with the
same key ring as provider credentials. Only `sender_config` ever decrypts them."""

from __future__ import annotations

from typing import Any

from leadflood.auth.crypto import keyring
from leadflood.models import Mailbox
from leadflood.settings import Settings


def store(
    settings: Settings, mailbox: Mailbox, *, secret: str | None, dkim_key: str | None
) -> None:
    """Set the secrets that are given (None leaves one as it is, "" removes it)."""
    keys = keyring(settings)
    if secret is not None:
        if secret:
            ciphertext, version = keys.encrypt(secret)
            mailbox.secret_ciphertext = ciphertext.encode("ascii")
            mailbox.secret_key_version = version
        else:
            mailbox.secret_ciphertext = None
            mailbox.secret_key_version = None
    if dkim_key is not None:
        mailbox.dkim_key_ciphertext = (
            keys.encrypt(dkim_key)[0].encode("ascii") if dkim_key else None
        )


def secret_of(settings: Settings, mailbox: Mailbox) -> str | None:
    if mailbox.secret_ciphertext is None:
        return None
    return keyring(settings).decrypt(bytes(mailbox.secret_ciphertext).decode("ascii"))


def dkim_key_of(settings: Settings, mailbox: Mailbox) -> str | None:
    if mailbox.dkim_key_ciphertext is None:
        return None
    return keyring(settings).decrypt(bytes(mailbox.dkim_key_ciphertext).decode("ascii"))


def sender_config(settings: Settings, mailbox: Mailbox) -> dict[str, Any]:
    """The `build_email_sender` config of this mailbox, secrets decrypted."""
    config: dict[str, Any] = dict(mailbox.config or {})
    secret = secret_of(settings, mailbox)
    if mailbox.provider == "smtp":
        if secret is not None:
            config["password"] = secret
        dkim_key = dkim_key_of(settings, mailbox)
        if dkim_key and mailbox.dkim_selector and mailbox.dkim_domain:
            config |= {
                "dkim_selector": mailbox.dkim_selector,
                "dkim_domain": mailbox.dkim_domain,
                "dkim_private_key": dkim_key,
            }
    elif secret is not None:
        config["api_key"] = secret
    return config

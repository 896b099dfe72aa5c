"""Provider secrets at rest: Fernet with a key ring. The first key of ENCRYPTION_KEYS encrypts,
every key decrypts; without ENCRYPTION_KEYS a key is derived from SECRET_KEY."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from leadflood.settings import Settings


class Keyring:
    def __init__(self, keys: list[bytes]) -> None:
        self.keys = keys
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    @property
    def current_version(self) -> str:
        return key_version(self.keys[0])

    def encrypt(self, plaintext: str) -> tuple[str, str]:
        """(ciphertext, version of the key that encrypted it)."""
        return self._fernet.encrypt(plaintext.encode()).decode(), self.current_version

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise UndecryptableSecret() from None

    def rotate(self, ciphertext: str) -> tuple[str, str]:
        return self._fernet.rotate(ciphertext.encode()).decode(), self.current_version


class UndecryptableSecret(Exception):
    """No configured key decrypts this secret (ENCRYPTION_KEYS lost the key that made it)."""


def key_version(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:12]


def keyring(settings: Settings) -> Keyring:
    if settings.encryption_keys:
        return Keyring([key.encode() for key in settings.encryption_keys])
    derived = hashlib.sha256(b"leadflood.credentials:" + settings.secret_key.encode()).digest()
    return Keyring([base64.urlsafe_b64encode(derived)])

"""How each provider proves a webhook request is its own, checked on the raw body's bytes:

- Resend signs with Svix: `svix-id`, `svix-timestamp`, `svix-signature` (space-separated
  `v1,<base64>` entries), HMAC-SHA256 over `{id}.{timestamp}.{body}` with the base64 key after
  `whsec_`; a timestamp more than 5 minutes away is refused (a captured request cannot be
  replayed later).
- SendGrid signs its Event Webhook, and Inbound Parse under a security policy, with ECDSA P-256
  / SHA-256 over `timestamp + body` (`X-Twilio-Email-Event-Webhook-Signature`, base64 DER, and
  `-Timestamp`), checked with the public key SendGrid shows (base64 SPKI, or PEM).
- Postmark signs nothing: its webhooks carry HTTP basic auth credentials set on the webhook.

Each check raises `Refused` with a stable reason, and compares in constant time."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

SVIX_TOLERANCE_SECONDS = 300
SENDGRID_SIGNATURE = "x-twilio-email-event-webhook-signature"
SENDGRID_TIMESTAMP = "x-twilio-email-event-webhook-timestamp"


class Refused(Exception):
    """The request is not proven to come from the provider. `reason` is one of `missing`
    (no signature or credentials), `invalid` (they do not match) or `stale` (a signature too
    old or too far in the future)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def svix_key(secret: str) -> bytes:
    """The HMAC key of a Svix signing secret (`whsec_<base64>`); ValueError when malformed."""
    value = secret.strip().removeprefix("whsec_")
    try:
        key = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a signing secret looks like whsec_ followed by base64") from None
    if not key:
        raise ValueError("a signing secret looks like whsec_ followed by base64")
    return key


def svix_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(svix_key(secret), signed, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_svix(secret: str, headers: Mapping[str, str], body: bytes, *, now: float) -> None:
    msg_id = headers.get("svix-id", "")
    timestamp = headers.get("svix-timestamp", "")
    signatures = headers.get("svix-signature", "")
    if not (msg_id and timestamp and signatures):
        raise Refused("missing", "No Svix signature (svix-id, svix-timestamp, svix-signature).")
    try:
        at = int(timestamp)
    except ValueError:
        raise Refused("invalid", "The svix-timestamp is not a number of seconds.") from None
    if abs(now - at) > SVIX_TOLERANCE_SECONDS:
        raise Refused("stale", "The signature's timestamp is more than 5 minutes away.")
    expected = svix_signature(secret, msg_id, timestamp, body).encode()
    for entry in signatures.split():
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return
    raise Refused("invalid", "The Svix signature does not match the signing secret.")


def ecdsa_public_key(text: str) -> ec.EllipticCurvePublicKey:
    """SendGrid's verification key as it shows it (base64 of the DER SubjectPublicKeyInfo) or
    as PEM; ValueError unless it is a P-256 public key."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError, TypeError):
        raise ValueError("not a public key: paste the key SendGrid shows (base64)") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("not an ECDSA P-256 public key")
    return key


def verify_sendgrid(public_key: str, headers: Mapping[str, str], body: bytes) -> None:
    signature = headers.get(SENDGRID_SIGNATURE, "")
    timestamp = headers.get(SENDGRID_TIMESTAMP, "")
    if not (signature and timestamp):
        raise Refused("missing", "No SendGrid signature (X-Twilio-Email-Event-Webhook-*).")
    try:
        der = base64.b64decode(signature, validate=True)
        ecdsa_public_key(public_key).verify(
            der, timestamp.encode() + body, ec.ECDSA(hashes.SHA256())
        )
    except (binascii.Error, ValueError, InvalidSignature):
        raise Refused("invalid", "The SendGrid signature does not match the public key.") from None


def verify_basic(username: str, password: str, headers: Mapping[str, str]) -> None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        raise Refused("missing", "No HTTP basic auth credentials.")
    try:
        given = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, ValueError):
        raise Refused("invalid", "The basic auth credentials are malformed.") from None
    user, _, secret = given.partition(":")
    # Both compared, always: the time taken says nothing about which one is wrong.
    ok_user = hmac.compare_digest(user.encode(), username.encode())
    ok_secret = hmac.compare_digest(secret.encode(), password.encode())
    if not (ok_user and ok_secret):
        raise Refused("invalid", "The basic auth credentials do not match.")

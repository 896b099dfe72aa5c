"""MIME building and DKIM signing for mail we hand to an SMTP server ourselves."""

from __future__ import annotations

from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime
from typing import Any

import dkim

from leadflood.providers.base import OutboundEmail

HARD_LINE_LIMIT = 998


def _fold_ascii(name: str, value: Any, *, maxlen: int, linesep: str) -> str | None:
    """Fold an ASCII value at spaces only, letting a long token run up to the 998 limit."""
    text = str(value)
    if not text.isascii() or "\r" in text or "\n" in text:
        return None
    lines: list[str] = []
    line = f"{name}:"
    for word in text.split(" "):
        if word and line != f"{name}:" and len(line) + 1 + len(word) > maxlen:
            lines.append(line)
            line = f" {word}"
        else:
            line = f"{line} {word}"
    lines.append(line)
    if any(len(x) > HARD_LINE_LIMIT for x in lines):
        return None
    return linesep.join(lines) + linesep


class _MimePolicy(EmailPolicy):
    """The stdlib folder turns an ASCII header holding a token longer than a line (the URL in
    List-Unsubscribe) into RFC 2047 encoded-words, which receivers do not decode there."""

    def fold(self, name: str, value: Any) -> str:
        folded = _fold_ascii(
            name, value, maxlen=self.max_line_length or HARD_LINE_LIMIT, linesep=self.linesep
        )
        return folded if folded is not None else super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        folded = _fold_ascii(
            name, value, maxlen=self.max_line_length or HARD_LINE_LIMIT, linesep=self.linesep
        )
        return folded.encode("ascii") if folded is not None else super().fold_binary(name, value)


# 7bit makes non-ASCII bodies quoted-printable or base64: a relay that downgrades 8bit content
# for a server without 8BITMIME would otherwise rewrite the body and break the DKIM signature.
MIME_POLICY = _MimePolicy(linesep="\r\n", cte_type="7bit")

DKIM_SIGNED_HEADERS: tuple[str, ...] = (
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "reply-to",
    "mime-version",
    "content-type",
    "list-unsubscribe",
    "list-unsubscribe-post",
)

# Set by build_mime itself; a caller's header of the same name would produce a duplicate.
_OWN_HEADERS = frozenset(
    {
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "reply-to",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)


def _check_header(name: str, value: str) -> None:
    if any(c in name for c in ":\r\n ") or not name.isascii() or not name:
        raise ValueError(f"invalid header name {name!r}")
    if "\r" in value or "\n" in value:
        raise ValueError(f"header {name} contains a line break")


def build_mime(email: OutboundEmail, *, now: datetime | None = None) -> EmailMessage:
    """The full message: text alone, or multipart/alternative text + html when html is given."""
    msg = EmailMessage(policy=MIME_POLICY)
    if email.from_name:
        msg["From"] = Address(display_name=email.from_name, addr_spec=email.from_email)
    else:
        msg["From"] = email.from_email
    msg["To"] = ", ".join(email.to)
    _check_header("Subject", email.subject)
    msg["Subject"] = email.subject
    msg["Date"] = format_datetime(now or datetime.now(UTC))
    _check_header("Message-ID", email.message_id)
    msg["Message-ID"] = email.message_id
    if email.reply_to:
        msg["Reply-To"] = email.reply_to
    for name, value in email.headers.items():
        _check_header(name, value)
        if name.lower() in _OWN_HEADERS:
            raise ValueError(f"header {name} is set from the email's own fields")
        msg[name] = value
    msg.set_content(email.text)
    if email.html is not None:
        msg.add_alternative(email.html, subtype="html")
    return msg


def dkim_sign(
    message_bytes: bytes,
    *,
    selector: str,
    domain: str,
    private_key_pem: bytes,
    include_headers: tuple[str, ...] = DKIM_SIGNED_HEADERS,
) -> bytes:
    """Prepend a DKIM-Signature (rsa-sha256, relaxed/relaxed). Headers listed but absent are
    signed as empty, so nobody can add them after signing."""
    signature: bytes = dkim.sign(
        message_bytes,
        selector.encode("ascii"),
        domain.encode("ascii"),
        # dkimpy finds the PEM body with a regex that expects bare LF line endings.
        private_key_pem.replace(b"\r\n", b"\n"),
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=[h.encode("ascii") for h in include_headers],
    )
    return signature + message_bytes

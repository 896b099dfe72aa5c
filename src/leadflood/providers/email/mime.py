"""MIME building and DKIM signing for mail we hand to an SMTP server ourselves."""

from __future__ import annotations

import binascii
import re
import uuid
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


def render_bytes(email: OutboundEmail, *, now: datetime | None = None) -> bytes:
    """The bytes of `build_mime(email)`: written directly for the common case (ASCII headers and
    addresses, text with an optional html alternative), which costs a few percent of the stdlib
    path; through `email` otherwise. Both parse to the same message (a differential test holds
    them to it). Raises ValueError where build_mime does."""
    fast = fast_bytes(email, now or datetime.now(UTC))
    if fast is not None:
        return fast
    return build_mime(email, now=now).as_bytes(policy=MIME_POLICY)


_MAXLEN = MIME_POLICY.max_line_length or HARD_LINE_LIMIT
# Headers the stdlib parses into structured values: a caller's value there goes the slow path.
_STRUCTURED = frozenset(
    {
        "bcc",
        "cc",
        "content-disposition",
        "orig-date",
        "resent-bcc",
        "resent-cc",
        "resent-date",
        "resent-from",
        "resent-sender",
        "resent-to",
        "sender",
    }
)
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDR = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
_PHRASE = re.compile(rf"{_ATEXT}(?: {_ATEXT})*")
_MSGID = re.compile(r"<[!-;=?-~]+@[!-;=?-~]+>")  # printable ASCII without '<', '>' or space


def _plain_value(value: str) -> bool:
    """Printable ASCII without encoded-word lookalikes or edge spaces: folded as is."""
    return (
        value.isascii()
        and value.isprintable()
        and "=?" not in value
        and value.strip(" ") == value
        and "  " not in value
    )


def _header(name: str, value: str) -> bytes | None:
    folded = _fold_ascii(name, value, maxlen=_MAXLEN, linesep="\r\n")
    return None if folded is None else folded.encode("ascii")


def _address(name: str | None, addr: str) -> str | None:
    if _ADDR.fullmatch(addr) is None:
        return None
    if not name:
        return addr
    if not _plain_value(name):
        return None
    if _PHRASE.fullmatch(name) is None:
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{addr}>"


def _body(text: str) -> tuple[str, bytes]:
    """(Content-Transfer-Encoding, CRLF body): 7bit when ASCII with short lines, else
    quoted-printable, or base64 when that is smaller (mostly non-Latin text)."""
    lines = text.encode("utf-8").splitlines()
    data = b"\n".join(lines) + b"\n"
    if data.isascii() and all(len(line) <= _MAXLEN for line in lines):
        printable = data.replace(b"\n", b"").replace(b"\t", b"")
        if printable.decode("ascii").isprintable():
            return "7bit", data.replace(b"\n", b"\r\n")
    qp = binascii.b2a_qp(data, istext=True)
    if len(qp) <= (len(data) * 4) // 3 + 2 * len(lines):
        return "quoted-printable", qp.replace(b"\n", b"\r\n")
    raw = b"\r\n".join(lines) + b"\r\n"
    chunks = [binascii.b2a_base64(raw[i : i + 57], newline=False) for i in range(0, len(raw), 57)]
    return "base64", b"\r\n".join(chunks) + b"\r\n"


def _part(subtype: str, text: str) -> bytes:
    cte, body = _body(text)
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {cte}\r\n\r\n".encode("ascii")
        + body
    )


def fast_bytes(email: OutboundEmail, now: datetime) -> bytes | None:
    """The message written directly, or None when it needs the stdlib path (non-ASCII or
    unusual headers and addresses). Raises ValueError where build_mime does."""
    _check_header("Subject", email.subject)
    _check_header("Message-ID", email.message_id)
    for name, value in email.headers.items():
        _check_header(name, value)
        if name.lower() in _OWN_HEADERS:
            raise ValueError(f"header {name} is set from the email's own fields")
    sender = _address(email.from_name, email.from_email)
    if (
        sender is None
        or not email.to
        or any(_ADDR.fullmatch(to) is None for to in email.to)
        or not _plain_value(email.subject)
        or _MSGID.fullmatch(email.message_id) is None
        or (email.reply_to and _ADDR.fullmatch(email.reply_to) is None)
    ):
        return None
    fields = [
        ("From", sender),
        ("To", ", ".join(email.to)),
        ("Subject", email.subject),
        ("Date", format_datetime(now)),
        ("Message-ID", email.message_id),
    ]
    if email.reply_to:
        fields.append(("Reply-To", email.reply_to))
    for name, value in email.headers.items():
        if name.lower() in _STRUCTURED or not name.isprintable() or not _plain_value(value):
            return None
        fields.append((name, value))
    out: list[bytes] = []
    for name, value in fields:
        header = _header(name, value)
        if header is None:
            return None
        out.append(header)
    out.append(b"MIME-Version: 1.0\r\n")
    if email.html is None:
        out.append(_part("plain", email.text))
        return b"".join(out)
    boundary = f"=_lf_{uuid.uuid4().hex}".encode("ascii")
    out.append(b'Content-Type: multipart/alternative;\r\n boundary="' + boundary + b'"\r\n\r\n')
    for subtype, text in (("plain", email.text), ("html", email.html)):
        out.append(b"--" + boundary + b"\r\n" + _part(subtype, text) + b"\r\n")
    out.append(b"--" + boundary + b"--\r\n")
    return b"".join(out)


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

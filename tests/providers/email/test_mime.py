from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from functools import cache

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from leadflood.providers.base import OutboundEmail
from leadflood.providers.email.mime import MIME_POLICY, build_mime, dkim_sign

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
TOKEN = "Zk9" * 40
UNSUBSCRIBE = {
    "List-Unsubscribe": f"<https://app.test/unsubscribe/{TOKEN}>, <mailto:u+{TOKEN}@app.test>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}

# Header text: printable, no line breaks (those are refused, see test below). Unicode spaces other
# than U+0020 are left out: the stdlib folder drops a U+00A0 that touches an ASCII space.
header_text = st.text(
    st.characters(exclude_categories=("Cs", "Cc", "Zl", "Zp", "Zs"), include_characters=" "),
    min_size=1,
    max_size=120,
).filter(lambda s: s.strip() == s and "  " not in s)
body_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r"))


def email(**overrides: object) -> OutboundEmail:
    fields: dict[str, object] = {
        "message_id": "<01HX-lead-42.step-1@mail.sender.test>",
        "from_email": "ana@sender.test",
        "from_name": "Ana Núñez",
        "to": ["lead@prospect.test"],
        "subject": "Quick question",
        "text": "Hello\n",
        "headers": dict(UNSUBSCRIBE),
    }
    fields.update(overrides)
    return OutboundEmail(**fields)  # type: ignore[arg-type]


def roundtrip(outbound: OutboundEmail) -> tuple[bytes, EmailMessage]:
    data = build_mime(outbound, now=NOW).as_bytes(policy=MIME_POLICY)
    parsed = BytesParser(policy=policy.default).parsebytes(data)
    return data, parsed


def raw_from(data: bytes) -> tuple[str, str]:
    """From decoded per RFC 2047 by hand: the stdlib's address parser inserts a space between
    adjacent encoded-words of a display name, which RFC 2047 section 6.2 says to drop."""
    raw = BytesParser(policy=policy.compat32).parsebytes(data)["From"]
    ((name, address),) = getaddresses([str(raw)])
    return str(make_header(decode_header(name))), address


def plain(content: str) -> str:
    return content.replace("\r\n", "\n")


def test_envelope_headers() -> None:
    data, msg = roundtrip(email(reply_to="replies@sender.test", to=["a@x.test", "b@x.test"]))
    assert msg["From"] == "Ana Núñez <ana@sender.test>"
    assert msg["To"] == "a@x.test, b@x.test"
    assert msg["Subject"] == "Quick question"
    assert msg["Date"] == "Mon, 02 Mar 2026 09:30:00 +0000"
    assert msg["Message-ID"] == "<01HX-lead-42.step-1@mail.sender.test>"
    assert msg["Reply-To"] == "replies@sender.test"
    assert msg.get_content_type() == "text/plain"
    assert b"\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_html_makes_multipart_alternative_with_text_first() -> None:
    _, msg = roundtrip(email(text="Hi ça va", html="<p>Hi ça va</p>"))
    assert msg.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    html = msg.get_body(("html",))
    assert html is not None
    assert plain(html.get_content()) == "<p>Hi ça va</p>\n"


def test_long_list_unsubscribe_stays_readable() -> None:
    data, msg = roundtrip(email())
    assert msg["List-Unsubscribe"] == UNSUBSCRIBE["List-Unsubscribe"]
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    raw_header = data.split(b"\r\n\r\n", 1)[0]
    # Receivers do not decode RFC 2047 words in List-Unsubscribe: the URL must be literal.
    assert f"<https://app.test/unsubscribe/{TOKEN}>".encode() in raw_header
    assert b"=?utf-8?" not in raw_header.split(b"List-Unsubscribe:", 1)[1]


@pytest.mark.parametrize(
    "bad",
    [
        {"subject": "Hi\r\nBcc: victim@x.test"},
        {"headers": {"X-Tag": "a\nBcc: victim@x.test"}},
        {"headers": {"Bad Name": "v"}},
        {"headers": {"Subject": "second subject"}},
        {"message_id": "<a@b>\r\nBcc: victim@x.test"},
    ],
)
def test_header_injection_and_duplicates_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        build_mime(email(**bad))


@settings(max_examples=150, deadline=None)
@given(subject=header_text, from_name=header_text, text=body_text, html=st.none() | body_text)
def test_roundtrip_is_lossless_and_7bit(
    subject: str, from_name: str, text: str, html: str | None
) -> None:
    data, msg = roundtrip(email(subject=subject, from_name=from_name, text=text, html=html))
    assert data.isascii()
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    assert msg["Subject"] == subject
    assert raw_from(data) == (from_name, "ana@sender.test")
    assert msg["List-Unsubscribe"] == UNSUBSCRIBE["List-Unsubscribe"]
    body = msg.get_body(("plain",))
    assert body is not None
    expected = text if text.endswith("\n") or not text else text + "\n"
    assert plain(body.get_content()).rstrip("\n") == expected.rstrip("\n")
    if html is not None:
        html_part = msg.get_body(("html",))
        assert html_part is not None
        assert plain(html_part.get_content()).rstrip("\n") == html.rstrip("\n")


@cache
def rsa_key(fmt: serialization.PrivateFormat) -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, b"v=DKIM1; k=rsa; p=" + base64.b64encode(spki)


@pytest.mark.parametrize(
    "fmt", [serialization.PrivateFormat.TraditionalOpenSSL, serialization.PrivateFormat.PKCS8]
)
def test_dkim_sign_verifies_and_covers_the_unsubscribe_headers(
    fmt: serialization.PrivateFormat,
) -> None:
    pem, txt = rsa_key(fmt)
    data, _ = roundtrip(email(html="<p>Hello</p>"))
    # A PEM pasted from Windows keeps CRLF line ends.
    signed = dkim_sign(
        data, selector="lf", domain="sender.test", private_key_pem=pem.replace(b"\n", b"\r\n")
    )
    assert signed.endswith(data)
    assert signed.startswith(b"DKIM-Signature:")

    def dns(name: bytes, timeout: int = 5) -> bytes:
        return txt if name == b"lf._domainkey.sender.test." else b""

    assert dkim.verify(signed, dnsfunc=dns)
    header = BytesParser(policy=policy.default).parsebytes(signed)["DKIM-Signature"]
    tags = dict(
        part.strip().split("=", 1) for part in re.sub(r"\s+", "", str(header)).split(";") if part
    )
    assert tags["a"] == "rsa-sha256"
    assert tags["c"] == "relaxed/relaxed"
    assert tags["d"] == "sender.test"
    assert tags["s"] == "lf"
    assert {"from", "to", "subject", "date", "message-id", "list-unsubscribe"} <= set(
        tags["h"].split(":")
    )
    assert "list-unsubscribe-post" in tags["h"].split(":")
    for tampered in (
        signed.replace(b"List-Unsubscribe=One-Click", b"List-Unsubscribe=Two-Click"),
        signed.replace(b"Hello", b"Hallo"),
    ):
        assert not dkim.verify(tampered, dnsfunc=dns)

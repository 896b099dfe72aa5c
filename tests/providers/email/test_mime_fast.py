"""The fast byte-level MIME path against the stdlib `email` path: both outputs, parsed back by
the stdlib parser, must be the same message (headers, structure, decoded bodies)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from leadflood.providers.base import OutboundEmail
from leadflood.providers.email.mime import MIME_POLICY, build_mime, fast_bytes, render_bytes

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
TOKEN = "Zk9" * 40
UNSUBSCRIBE = {
    "List-Unsubscribe": f"<https://app.test/unsubscribe/{TOKEN}>, <mailto:u+{TOKEN}@app.test>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}
COMMON = OutboundEmail(
    message_id="<0b6c2a8e-5a1f-4f57-9a51-1f7c1f0f3a10@sender.test>",
    from_email="sam@sender.test",
    from_name="Sam Sender",
    to=["lead@prospect.test"],
    subject="Quick question about your outbound",
    text="Hi Ada,\n\nWould a 15-minute call next week make sense?\n\nSam\n",
    headers=dict(UNSUBSCRIBE),
)

ascii_word = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=12)
ascii_phrase = st.lists(ascii_word, min_size=1, max_size=25).map(" ".join)
# Anything a header may hold: Unicode, specials, double spaces, encoded-word lookalikes.
header_text = st.one_of(
    ascii_phrase,
    st.text(
        st.characters(exclude_categories=("Cs", "Cc", "Zl", "Zp", "Zs"), include_characters=" "),
        min_size=1,
        max_size=90,
    ),
    st.sampled_from(["=?utf-8?q?caf=C3=A9?=", "a  b", "Dr. Who", 'Sam "The" Man', "x\\y"]),
).filter(lambda s: s.strip() == s and s != "")
atom = st.text("abcxyz0189.-_+'", min_size=1, max_size=10).filter(
    lambda s: not s.startswith(".") and not s.endswith(".") and ".." not in s
)
ascii_address = st.builds(
    lambda local, host: f"{local}@{host}.test", atom, st.sampled_from(["x", "a-b.c"])
)
address = ascii_address | st.sampled_from(["d\u00e9j\u00e0@x.test", '"quoted local"@x.test'])
line = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=120),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"), max_size=120),
    st.sampled_from([".", "From me", "a=b", "trailing space ", "tab\t", "=?x?=", "\x0c", "\x00"]),
)
body = st.one_of(
    st.lists(line, max_size=14).map("\n".join),
    st.lists(line, max_size=4).map("\r\n".join),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=300),
)
EXTRA_NAMES = ["X-Campaign", "X-LF-Tag", "In-Reply-To", "References", "X-Mailer"]


@st.composite
def outbound_emails(draw: st.DrawFn) -> OutboundEmail:
    """Most examples stay within what the fast path takes (ASCII headers and addresses), so
    both paths are compared often; the rest may hold anything."""
    common = draw(st.integers(0, 4)) > 1
    text_s = ascii_phrase if common else header_text
    addr_s = ascii_address if common else address
    extra = draw(st.dictionaries(st.sampled_from(EXTRA_NAMES), text_s, max_size=2))
    if not common and draw(st.booleans()):
        # Structured headers get addresses: the stdlib's own parser crashes on some junk.
        extra.update(Cc=draw(address), Sender=draw(address))
    return dataclasses.replace(
        COMMON,
        subject=draw(text_s),
        from_name=draw(st.none() | text_s),
        from_email=draw(addr_s),
        to=draw(st.lists(addr_s, min_size=1, max_size=3)),
        reply_to=draw(st.none() | addr_s),
        headers={**UNSUBSCRIBE, **extra},
        text=draw(body),
        html=draw(st.none() | body),
    )


def parse(data: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    return message


def shape(message: EmailMessage) -> list[object]:
    """What a receiver sees: every header (but the per-message MIME plumbing), the content
    types and each part's decoded content."""
    plumbing = {"content-type", "content-transfer-encoding", "mime-version"}
    seen: list[object] = []
    for part in message.walk():
        assert isinstance(part, EmailMessage)
        headers = [(k.lower(), str(v)) for k, v in part.items() if k.lower() not in plumbing]
        params = {k: v for k, v in part.get_params() or [] if k != "boundary"}
        seen.append((headers, part.get_content_type(), params))
        if not part.is_multipart():
            seen.append(part.get_content())
    return seen


def plain(content: str) -> str:
    return content.replace("\r\n", "\n")


def wellformed(data: bytes) -> None:
    assert data.isascii()
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")
    assert max(len(x) for x in data.split(b"\r\n")) <= 998


@settings(max_examples=250, deadline=None)
@given(outbound=outbound_emails())
@example(
    outbound=dataclasses.replace(
        COMMON,
        from_name='Sam, "The" Sender',
        reply_to="replies@sender.test",
        text="H\u00e9llo\n" + "x" * 200 + "\n",
        html="<p>\u4f60\u597d\u4e16\u754c</p>" * 30,
    )
)
def test_fast_path_parses_to_the_same_message_as_the_stdlib_path(outbound: OutboundEmail) -> None:
    try:
        reference = build_mime(outbound, now=NOW).as_bytes(policy=MIME_POLICY)
    except ValueError as refused:
        # e.g. a non-ASCII local part: refused on both paths alike.
        assert fast_bytes(outbound, NOW) is None
        with pytest.raises(type(refused)):
            render_bytes(outbound, now=NOW)
        return
    fast = fast_bytes(outbound, NOW)
    rendered = render_bytes(outbound, now=NOW)
    assert shape(parse(rendered)) == shape(parse(reference))
    event("fast path" if fast is not None else "stdlib path")
    if fast is None:
        return
    wellformed(fast)
    assert shape(parse(fast)) == shape(parse(reference))


def test_the_common_message_takes_the_fast_path_with_every_header() -> None:
    data = fast_bytes(COMMON, NOW)
    assert data is not None
    wellformed(data)
    message = parse(data)
    assert message["List-Unsubscribe"] == UNSUBSCRIBE["List-Unsubscribe"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Message-ID"] == COMMON.message_id
    assert message["Date"] == "Mon, 02 Mar 2026 09:30:00 +0000"
    assert message["MIME-Version"] == "1.0"
    assert message["Content-Transfer-Encoding"] == "7bit"
    assert f"<https://app.test/unsubscribe/{TOKEN}>".encode() in data


def test_fast_path_encodes_non_ascii_bodies_and_long_lines() -> None:
    html = "<p>" + "merci pour votre r\u00e9ponse, " * 10 + "</p>"
    cyrillic = "\u043f\u0440\u0438\u0432\u0435\u0442 " * 30
    data = fast_bytes(dataclasses.replace(COMMON, text="x" * 200, html=html), NOW)
    dense = fast_bytes(dataclasses.replace(COMMON, text=cyrillic), NOW)
    assert data is not None and dense is not None
    wellformed(data)
    wellformed(dense)
    parts = list(parse(data).iter_parts())
    assert [p["Content-Transfer-Encoding"] for p in parts] == ["quoted-printable"] * 2
    # The stdlib parser keeps the CRLF line ends of a decoded body (on both paths alike).
    assert [plain(p.get_content()) for p in parts] == ["x" * 200 + "\n", html + "\n"]
    # Mostly non-Latin text: base64 is the smaller encoding.
    assert parse(dense)["Content-Transfer-Encoding"] == "base64"
    assert plain(parse(dense).get_content()) == cyrillic + "\n"


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
def test_fast_path_refuses_what_the_stdlib_path_refuses(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        fast_bytes(dataclasses.replace(COMMON, **bad), NOW)  # type: ignore[arg-type]

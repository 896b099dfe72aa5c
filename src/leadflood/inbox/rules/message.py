"""One inbound message as the rules read it: decoded headers, its text, the visible reply text
(without quotes and signature), and the machine-readable report parts of DSNs and ARF reports.

Parsing never raises: broken MIME, unknown charsets and garbage bytes give a message with what
could be read and a note in `defects`, which the classifier turns into evidence."""

from __future__ import annotations

import contextlib
import email
import email.policy
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from email.header import decode_header, make_header
from email.message import Message as StdMessage
from email.parser import BytesHeaderParser, HeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import TypeVar

from leadflood.inbox.rules.html import html_to_text, visible_html

# Longer bodies are cut before the text rules run: what decides a classification sits at the
# top of a message, and regular expressions over megabytes of attachments only cost time.
MAX_TEXT = 60_000

Headers = tuple[tuple[str, str], ...]
T = TypeVar("T")

ADDRESS = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
MESSAGE_ID = re.compile(r"<[^<>\s]+@[^<>\s]+>|<[^<>\s]+>")


@dataclass(frozen=True)
class ReportPart:
    """A machine-readable report part: `message/delivery-status` (one block of fields per
    group: the per-message block first, then one per recipient) or `message/feedback-report`
    (one block)."""

    content_type: str
    blocks: tuple[Headers, ...]


@dataclass(frozen=True)
class Message:
    raw: bytes
    headers: Headers = ()
    content_type: str = "text/plain"
    report_type: str = ""
    # The human-readable text outside attached messages: every text/plain part (the HTML
    # alternative converted when a part has no plain text).
    text: str = ""
    html_only: bool = False
    # What the sender wrote in this message: quotes, forwarded copies and the signature removed.
    visible: str = ""
    # The text above the quoted history, signature kept (auto-replies put contacts there).
    top: str = ""
    reports: tuple[ReportPart, ...] = ()
    # The headers of the message returned inside a DSN or ARF report (ours, usually).
    returned_headers: Headers = ()
    received: date | None = None
    defects: tuple[str, ...] = field(default=())

    def header(self, name: str) -> str:
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return ""

    def header_all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    @property
    def subject(self) -> str:
        return self.header("Subject")

    @property
    def sender(self) -> str:
        return first_address(self.header("From"))

    @property
    def sender_name(self) -> str:
        addresses = getaddresses([self.header("From")])
        return addresses[0][0] if addresses else ""

    @property
    def recipients(self) -> list[str]:
        """Who the message was addressed to: our mailbox, on an inbound message."""
        found = []
        for name in ("To", "Delivered-To", "X-Original-To"):
            found.extend(addresses_in(self.header(name)))
        return found

    @property
    def copied(self) -> list[str]:
        return addresses_in(self.header("Cc"))

    @property
    def message_id(self) -> str | None:
        return first_message_id(self.header("Message-ID"))

    @property
    def in_reply_to(self) -> str | None:
        return first_message_id(self.header("In-Reply-To"))

    @property
    def references(self) -> tuple[str, ...]:
        return tuple(MESSAGE_ID.findall(self.header("References")))

    @property
    def returned_message_id(self) -> str | None:
        for key, value in self.returned_headers:
            if key.lower() == "message-id":
                return first_message_id(value)
        return None


def parse(raw: bytes, *, received: date | None = None) -> Message:
    """Reads a raw RFC 5322 message. `received` (when the message arrived) defaults to its
    Date header; dates without a year in the text resolve relative to it."""
    defects: list[str] = []
    try:
        parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
    except Exception as exc:  # the stdlib parser is lenient; this is the last resort
        text = raw[:MAX_TEXT].decode("utf-8", errors="replace")
        return Message(
            raw=raw,
            text=text,
            visible=text.strip(),
            top=text.strip(),
            received=received,
            defects=(f"MIME parsing failed ({type(exc).__name__}); read as plain text",),
        )
    headers = _headers(parsed)
    if not headers:
        defects.append("no headers could be read; the whole input was read as text")
    if parsed.defects:
        names = sorted({type(defect).__name__ for defect in parsed.defects})
        defects.append("MIME defects: " + ", ".join(names[:4]))

    walker = _Walker()
    walker.walk(parsed, inside_attached=False)
    plain = "\n\n".join(walker.plain).strip()
    html_only = not plain and bool(walker.html)
    text = plain or "\n\n".join(html_to_text(h) for h in walker.html).strip()
    if html_only:
        top = above_quotes(html_to_text(visible_html(walker.html[0])))
    else:
        top = above_quotes(walker.plain[0] if walker.plain else "")
    defects.extend(walker.defects)

    return Message(
        raw=raw,
        headers=headers,
        content_type=_safe(parsed.get_content_type, "text/plain"),
        report_type=_safe(lambda: _param(parsed, "report-type"), "").lower(),
        text=text[:MAX_TEXT],
        html_only=html_only,
        visible=_latest_reply(top),
        top=top,
        reports=tuple(walker.reports),
        returned_headers=walker.returned_headers,
        received=received or _received(headers),
        defects=tuple(defects),
    )


def first_address(value: str) -> str:
    found = addresses_in(value)
    return found[0] if found else ""


def addresses_in(value: str) -> list[str]:
    return [match.lower() for match in ADDRESS.findall(value or "")]


def first_message_id(value: str) -> str | None:
    match = MESSAGE_ID.search(value or "")
    return match.group(0) if match else None


# ---- headers -----------------------------------------------------------------------------


def _headers(parsed: StdMessage) -> Headers:
    try:
        items = parsed.raw_items()
    except Exception:
        return ()
    return tuple((str(name), decode_value(value)) for name, value in items)


def decode_value(value: object) -> str:
    """A header value as text: RFC 2047 words decoded, folding removed; undecodable bytes
    replaced rather than raised."""
    text = str(value)
    try:
        text = str(make_header(decode_header(text)))
    except Exception:
        text = text.encode("utf-8", errors="replace").decode("utf-8", errors="replace")
    return plain_punctuation(re.sub(r"\r?\n[ \t]+", " ", text).strip())


def headers_from_text(text: str) -> Headers:
    parsed = HeaderParser(policy=email.policy.compat32).parsestr(text, headersonly=True)
    return tuple((str(name), decode_value(value)) for name, value in parsed.items())


def _received(headers: Headers) -> date | None:
    for key, value in headers:
        if key.lower() == "date":
            try:
                return parsedate_to_datetime(value).date()
            except Exception:
                break
    for key, value in headers:
        if key.lower() == "received" and ";" in value:
            with contextlib.suppress(Exception):
                return parsedate_to_datetime(value.rsplit(";", 1)[1].strip()).date()
    return None


def _param(part: StdMessage, name: str) -> str:
    """A Content-Type parameter, plain or RFC 2231-encoded (`name*=us-ascii''value`, `name*0*=`
    continuations): the compat32 parser reads the plain form only, so an encoded one is read by
    the standard library's structured header (the default policy's) for this header alone."""
    value = part.get_param(name)
    if value is None and f"{name}*" in (header := str(part.get("Content-Type", ""))):
        value = email.policy.default.header_factory("content-type", header).params.get(name)
    return str(value or "")


def _safe(read: object, default: str) -> str:
    try:
        result = read()  # type: ignore[operator]
    except Exception:
        return default
    return str(result)


# ---- body --------------------------------------------------------------------------------


class _Walker:
    """Collects the text parts outside attached messages, the report parts, and the headers
    of the first attached (returned) message."""

    def __init__(self) -> None:
        self.plain: list[str] = []
        self.html: list[str] = []
        self.reports: list[ReportPart] = []
        self.returned_headers: Headers = ()
        self.defects: list[str] = []
        self.parts = 0

    def walk(self, part: StdMessage, *, inside_attached: bool) -> None:
        self.parts += 1
        if self.parts > 200:  # a pathological nesting; what was read so far is enough
            return
        ctype = _safe(part.get_content_type, "text/plain").lower()
        if part.is_multipart() and ctype.startswith("multipart/"):
            children = part.get_payload()
            if not isinstance(children, list):
                return
            if ctype == "multipart/alternative" and not inside_attached:
                children = _prefer_plain(children)
            for child in children:
                if isinstance(child, StdMessage):
                    self.walk(child, inside_attached=inside_attached)
            return
        if ctype in ("message/delivery-status", "message/global-delivery-status"):
            self.reports.append(ReportPart("message/delivery-status", _field_blocks(part)))
            return
        if ctype == "text/delivery-status":
            self.reports.append(ReportPart("message/delivery-status", _field_blocks(part)))
            return
        if ctype == "message/feedback-report":
            self.reports.append(ReportPart(ctype, _field_blocks(part)))
            return
        if ctype in ("message/rfc822", "message/global"):
            attached = part.get_payload()
            first = attached[0] if isinstance(attached, list) and attached else None
            if isinstance(first, StdMessage) and not self.returned_headers:
                self.returned_headers = _headers(first)
            return
        if ctype in ("text/rfc822-headers", "message/rfc822-headers"):
            if not self.returned_headers:
                self.returned_headers = headers_from_text(_decoded(part, self.defects))
            return
        if inside_attached or _is_attachment(part):
            return
        if ctype == "text/plain":
            self.plain.append(_decoded(part, self.defects)[:MAX_TEXT])
        elif ctype == "text/html":
            self.html.append(_decoded(part, self.defects)[:MAX_TEXT])


def _prefer_plain(children: Sequence[T]) -> list[T]:
    for child in children:
        if isinstance(child, StdMessage) and _safe(child.get_content_type, "") == "text/plain":
            return [child]
    return list(children[-1:])


def _is_attachment(part: StdMessage) -> bool:
    return _safe(part.get_content_disposition, "") == "attachment"


def _decoded(part: StdMessage, defects: list[str]) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return plain_punctuation(raw) if isinstance(raw, str) else ""
    charset = _safe(lambda: part.get_content_charset() or "utf-8", "utf-8")
    try:
        text = payload.decode(charset, errors="replace")
    except (LookupError, ValueError):
        defects.append(f"unknown charset {charset[:40]!r}; decoded as UTF-8")
        text = payload.decode("utf-8", errors="replace")
    return plain_punctuation(text)


def plain_punctuation(text: str) -> str:
    """Typographic apostrophes and non-breaking spaces as their plain forms, so the wording
    rules need one spelling of "doesn't"."""
    return text.translate(_PLAIN)


_PLAIN = str.maketrans({"\u2019": "'", "\u2018": "'", "\u00a0": " ", "\u202f": " "})


def _field_blocks(part: StdMessage) -> tuple[Headers, ...]:
    """The groups of `Name: value` fields of a report part, however the stdlib held them."""
    payload = part.get_payload()
    if isinstance(payload, list):
        blocks = []
        for block in payload:
            if isinstance(block, StdMessage):
                fields = _headers(block)
                if fields:
                    blocks.append(fields)
        if blocks:
            return tuple(blocks)
    text = _decoded(part, [])
    blocks = []
    for chunk in re.split(r"\r?\n\s*\r?\n", text.strip()):
        if chunk.strip():
            parsed = BytesHeaderParser(policy=email.policy.compat32).parsebytes(
                chunk.encode("utf-8", errors="replace") + b"\n\n"
            )
            fields = tuple((str(k), decode_value(v)) for k, v in parsed.items())
            if fields:
                blocks.append(fields)
    return tuple(blocks)


# ---- the visible reply text --------------------------------------------------------------

# Where a quoted or forwarded earlier message starts, in the clients and languages the reply
# parser library misses or gets wrong (Portuguese; Spanish intros with a single space;
# intros wrapped over two lines; separators of Outlook and web mail).
QUOTE_STARTS = re.compile(
    r"^(?:"
    r"(?:On|Am|Le|El|Op|Em|Il|W dniu|Den|På)\s[^\n]{0,200}(?:\n[^\n]{0,200})?"
    r"\s(?:wrote|schrieb|a écrit|escribió|schreef|escreveu|ha scritto|napisał|skrev)\s?[^\n]{0,80}:"
    r"|-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original"
    r"|Oorspronkelijk bericht|Mensagem original|Messaggio originale|Forwarded message"
    r"|Weitergeleitete Nachricht|Message transféré|Mensaje reenviado|Doorgestuurd bericht"
    r"|Mensagem encaminhada)\s*-{2,}"
    r"|_{20,}"
    r"|Begin forwarded message:"
    r"|(?:From|Von|De|Van|Da):\s[^\n]+\n(?:(?:Sent|Gesendet|Envoyé|Enviado|Verzonden|Inviato|Date|Datum"
    r"|Fecha|Data|To|An|À|Para|Aan|A):\s)"
    r")",
    re.IGNORECASE | re.MULTILINE,
)
REPLY_LANGUAGES = ["en", "de", "fr", "es", "nl", "it", "pl", "sv", "da", "cs"]


def above_quotes(text: str) -> str:
    """The text above the first quoted or forwarded message, without `>` lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")[:MAX_TEXT]
    cut = QUOTE_STARTS.search(text)
    if cut:
        text = text[: cut.start()]
    lines = [line for line in text.split("\n") if not line.lstrip().startswith(">")]
    return "\n".join(lines).strip()


def reply_text(text: str) -> str:
    """The part of a reply its sender wrote now: quotes and the signature removed."""
    return _latest_reply(above_quotes(text))


def _latest_reply(text: str) -> str:
    from mailparser_reply import EmailReplyParser

    if not text.strip():
        return ""
    try:
        replies = EmailReplyParser(languages=REPLY_LANGUAGES).read(text).replies
    except Exception:  # a third-party parser: on any failure keep the text as it is
        return text
    if not replies:
        return text
    body = str(replies[0].body)
    lines = [line for line in body.split("\n") if not line.lstrip().startswith(">")]
    return "\n".join(lines).strip() or str(replies[0].content).strip()

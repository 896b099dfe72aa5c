"""What the providers' webhooks carry, in the inbox's terms. Pure: no database, no network.

`split` cuts a verified request body into the items stored raw (one per event, each under a
dedupe key from the provider's own id, else the hash of its bytes); `interpret` reads one
stored item back as either an inbound email (`Mail`, RFC 5322 bytes: the provider's raw MIME
when it sends it, else rebuilt from its fields with the stdlib `email` package, the same bytes
every time), a delivery event (`Event`: a Classification and the facts that find our
message), a confirmed delivery (`Delivered`), or None for what changes nothing (opens, clicks).

The rule that keeps things stored once: a webhook item is stored as the provider sent it (the
JSON event; a multipart form as its fields) and nothing else. The email it carries is derived
from it whenever it is processed and never stored a second time; the inbound message row
points to the item."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.utils import format_datetime, formataddr
from typing import Any

from leadflood.inbox.rules import Classification
from leadflood.inbox.rules.bounces import ENHANCED, bounce_type_of
from leadflood.inbox.rules.result import BounceType
from leadflood.inbox.threading import Facts
from leadflood.providers.base import MESSAGE_METADATA_KEY

KINDS = ("postmark", "resend", "sendgrid-events", "sendgrid-parse")


class PayloadInvalid(ValueError):
    """A verified request whose body is not what the provider sends."""


@dataclass(frozen=True)
class Received:
    key: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Mail:
    raw: bytes


@dataclass(frozen=True)
class Event:
    result: Classification
    facts: Facts
    # The event in a sentence, kept as the inbound message's text.
    summary: str


@dataclass(frozen=True)
class Delivered:
    """The provider handed our message (its id) to the recipient's server at `at`."""

    provider_message_id: str
    recipient: str | None
    at: datetime
    # Our message's id, from the metadata it was sent with (when the provider gives it back).
    ours: str | None = None


def _delivered(
    provider_id: object, recipient: object, at: datetime, metadata: object = None
) -> Delivered | None:
    if not provider_id:
        return None
    ours = metadata.get(MESSAGE_METADATA_KEY) if isinstance(metadata, dict) else None
    return Delivered(
        str(provider_id), str(recipient) if recipient else None, at, str(ours) if ours else None
    )


# ---- splitting a request into stored items -----------------------------------------------


def split(kind: str, body: bytes, *, headers: Mapping[str, str]) -> list[Received]:
    """The items of one verified request."""
    if kind == "sendgrid-parse":
        form = read_form(headers.get("content-type", ""), body)
        return [Received(_parse_key(form, body), form)]
    data = _json(body)
    if kind == "sendgrid-events":
        if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
            raise PayloadInvalid("The Event Webhook posts a JSON array of events.")
        return [Received(_sendgrid_key(e), e) for e in data]
    if not isinstance(data, dict):
        raise PayloadInvalid("Expected a JSON object.")
    if kind == "resend":
        if not isinstance(data.get("type"), str) or not isinstance(data.get("data"), dict):
            raise PayloadInvalid("A Resend event has `type` and `data`.")
        return [Received(f"resend:{headers.get('svix-id') or _sha(body)}", data)]
    if kind == "postmark":
        return [Received(_postmark_key(data, body), data)]
    raise PayloadInvalid(f"Unknown webhook kind {kind!r}.")


def read_form(content_type: str, body: bytes) -> dict[str, Any]:
    """A multipart/form-data body as JSON: text fields decoded with the charset SendGrid names
    for them in its `charsets` field (else UTF-8), files as base64 with their names. A field
    that does not decode, or holds NUL (which JSONB refuses), is kept as base64."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise PayloadInvalid("Inbound Parse posts multipart/form-data.")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    parsed = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not parsed.is_multipart():
        raise PayloadInvalid("The multipart body could not be read.")
    parts: list[tuple[str, str | None, str, bytes]] = []
    for part in parsed.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        filename = part.get_filename()
        data = part.get_payload(decode=True)
        parts.append(
            (name, filename, part.get_content_type(), data if isinstance(data, bytes) else b"")
        )
    charsets: dict[str, str] = {}
    for name, filename, _, data in parts:
        if name == "charsets" and filename is None:
            try:
                found = json.loads(data)
            except (UnicodeDecodeError, json.JSONDecodeError):
                found = {}
            charsets = {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}
    out: dict[str, Any] = {"fields": {}, "files": []}
    for name, filename, ctype, data in parts:
        if filename is not None:
            out["files"].append(
                {"field": name, "filename": filename, "content_type": ctype,
                 "base64": base64.b64encode(data).decode()}
            )  # fmt: skip
            continue
        try:
            text = data.decode(charsets.get(name) or "utf-8")
        except (LookupError, UnicodeDecodeError):
            text = None
        if text is None or "\x00" in text:
            out.setdefault("base64_fields", {})[name] = base64.b64encode(data).decode()
        else:
            out["fields"].setdefault(name, text)
    return out


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadInvalid(f"The body is not JSON: {exc}.") from None


def _sha(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _sendgrid_key(event: dict[str, Any]) -> str:
    event_id = event.get("sg_event_id")
    if isinstance(event_id, str) and event_id:
        return f"sendgrid:{event_id}"[:200]
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
    return "sendgrid:" + _sha(canonical)


def _postmark_key(data: dict[str, Any], body: bytes) -> str:
    record = str(data.get("RecordType") or "Inbound")
    if record in ("Bounce", "SpamComplaint") and data.get("ID") is not None:
        return f"postmark:{record}:{data['ID']}"[:200]
    if record == "Inbound" and data.get("MessageID"):
        return f"postmark:Inbound:{data['MessageID']}"[:200]
    if data.get("MessageID") and record in ("Delivery", "SubscriptionChange"):
        who = data.get("Recipient") or ""
        return f"postmark:{record}:{data['MessageID']}:{who}"[:200]
    return "postmark:" + _sha(body)


def _parse_key(form: dict[str, Any], body: bytes) -> str:
    message_id = _parse_message_id(form)
    if message_id:
        return "sendgrid-parse:message-id:" + hashlib.sha256(message_id.encode()).hexdigest()
    return "sendgrid-parse:" + _sha(body)


def _parse_message_id(form: dict[str, Any]) -> str | None:
    fields = form.get("fields", {})
    head = fields.get("email") or fields.get("headers") or ""
    end = head.find("\r\n\r\n") if "\r\n\r\n" in head else head.find("\n\n")
    parsed = BytesHeaderParser(policy=policy.compat32).parsebytes(
        (head if end < 0 else head[:end]).encode("utf-8", "surrogateescape")
    )
    value = str(parsed.get("Message-ID") or "").strip()
    return value or None


# ---- reading a stored item --------------------------------------------------------------


def interpret(
    source: str, payload: dict[str, Any], received_at: datetime
) -> Mail | Event | Delivered | None:
    if source == "postmark":
        return _postmark(payload, received_at)
    if source == "resend":
        return _resend(payload, received_at)
    if source == "sendgrid-events":
        return _sendgrid(payload, received_at)
    if source == "sendgrid-parse":
        return Mail(_parse_mail(payload))
    return None


def _facts(
    subject: str, provider_id: object, recipient: object, at: datetime, *, referenced: str = ""
) -> Facts:
    return Facts(
        sender="",  # an event is not mail from a person: never matched by sender
        subject=subject,
        message_id=None,
        referenced=(referenced,) if referenced else (),
        provider_message_id=str(provider_id) if provider_id else None,
        recipient=str(recipient) if recipient else None,
        received_at=at,
    )


def _when(value: object, default: datetime) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return default
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return default


def _bounce(
    bounce_type: BounceType,
    recipient: str | None,
    diagnostic: str | None,
    evidence: str,
    *,
    status: str | None = None,
) -> Classification:
    """A bounce whose type the provider decided; the label comes from the shared rules when
    they read the diagnostic the same way, else the type's generic label."""
    found = ENHANCED.search(diagnostic or "") if status is None else None
    status = status or (found.group(0) if found else None)
    ruled, label, why = bounce_type_of(status, diagnostic)
    if ruled != bounce_type:
        label = {"hard": "other", "soft": "temporary", "block": "policy"}[bounce_type]
        why = "the provider's classification"
    return Classification(
        kind="bounce",
        label=label,
        bounce_type=bounce_type,
        recipient=recipient,
        status=status,
        diagnostic=(diagnostic or "")[:500] or None,
        evidence=(evidence, f"label: {why}"),
    )


# Postmark's bounce `Type`s that say something about the recipient or our message.
POSTMARK_TYPES: dict[str, BounceType] = {
    "HardBounce": "hard",
    "BadEmailAddress": "hard",
    "ManuallyDeactivated": "hard",
    "Transient": "soft",
    "SoftBounce": "soft",
    "DnsError": "soft",
    "Unknown": "soft",
    "Blocked": "block",
    "SpamNotification": "block",
    "DMARCPolicy": "block",
    "ContentRelated": "block",
}


def _postmark(data: dict[str, Any], received_at: datetime) -> Mail | Event | Delivered | None:
    record = data.get("RecordType")
    if record in (None, "Inbound"):
        return Mail(_postmark_mail(data))
    if record == "Delivery":
        at = _when(data.get("DeliveredAt"), received_at)
        return _delivered(data.get("MessageID"), data.get("Recipient"), at, data.get("Metadata"))
    subject = str(data.get("Subject") or "")
    if record == "SpamComplaint" or data.get("Type") == "SpamComplaint":
        at = _when(data.get("BouncedAt"), received_at)
        result = Classification(
            kind="complaint", label="abuse", recipient=data.get("Email"),
            evidence=("Postmark spam complaint webhook",),
        )  # fmt: skip
        facts = _facts(subject, data.get("MessageID"), data.get("Email"), at)
        return Event(result, facts, f"{data.get('Email')} marked the message as spam.")
    if record == "Bounce":
        kind = str(data.get("Type") or "")
        bounce_type = POSTMARK_TYPES.get(kind)
        if bounce_type is None:
            return None  # auto-responders, subscribe requests, address changes, tests
        at = _when(data.get("BouncedAt"), received_at)
        diagnostic = str(data.get("Details") or data.get("Description") or "")
        evidence = f"Postmark bounce webhook: Type {kind} ({data.get('TypeCode')})"
        result = _bounce(bounce_type, data.get("Email"), diagnostic, evidence)
        summary = f"{kind} for {data.get('Email')}: {data.get('Description') or diagnostic}"
        return Event(result, _facts(subject, data.get("MessageID"), data.get("Email"), at), summary)
    if record == "SubscriptionChange" and data.get("SuppressSending"):
        if data.get("SuppressionReason") != "ManualSuppression":
            return None  # bounces and complaints arrive as their own webhooks
        at = _when(data.get("ChangedAt"), received_at)
        result = Classification(
            kind="unsubscribe", recipient=data.get("Recipient"),
            evidence=("Postmark subscription change: the recipient unsubscribed",),
        )  # fmt: skip
        facts = _facts("", data.get("MessageID"), data.get("Recipient"), at)
        return Event(result, facts, f"{data.get('Recipient')} unsubscribed (Postmark).")
    return None


def _postmark_mail(data: dict[str, Any]) -> bytes:
    raw = data.get("RawEmail")
    if isinstance(raw, str) and raw.strip():
        return raw.encode("utf-8", "surrogateescape")
    message = EmailMessage(policy=policy.SMTP)
    sender = data.get("FromFull") or {}
    if isinstance(sender, dict) and sender.get("Email"):
        message["From"] = formataddr((sender.get("Name") or "", sender["Email"]))
    elif data.get("From"):
        message["From"] = str(data["From"])
    for name in ("To", "Cc", "ReplyTo", "Subject", "Date"):
        if data.get(name):
            message["Reply-To" if name == "ReplyTo" else name] = str(data[name])
    taken = {"from", "to", "cc", "reply-to", "subject", "date", "mime-version"}
    for header in data.get("Headers") or []:
        name, value = str(header.get("Name") or ""), str(header.get("Value") or "")
        if name and name.lower() not in taken and not name.lower().startswith("content-"):
            message[name] = _unfold(value)
    _bodies(message, data.get("TextBody"), data.get("HtmlBody"))
    for attachment in data.get("Attachments") or []:
        content = base64.b64decode(str(attachment.get("Content") or ""))
        maintype, _, subtype = str(attachment.get("ContentType") or "").partition("/")
        message.add_attachment(
            content, maintype=maintype or "application", subtype=subtype or "octet-stream",
            filename=str(attachment.get("Name") or "attachment"),
        )  # fmt: skip
    return message.as_bytes()


def _bodies(message: EmailMessage, text: object, html: object) -> None:
    if text:
        message.set_content(str(text))
        if html:
            message.add_alternative(str(html), subtype="html")
    elif html:
        message.set_content(str(html), subtype="html")
    else:
        message.set_content("")


# Resend's bounce sub-types that are about our message, not the recipient.
RESEND_BLOCKS = ("ContentRejected", "AttachmentRejected", "MessageTooLarge")


def _resend(envelope: dict[str, Any], received_at: datetime) -> Mail | Event | Delivered | None:
    kind = envelope.get("type")
    data: dict[str, Any] = envelope.get("data") or {}
    if kind in ("email.received", RESEND_CONTENT):
        return Mail(_resend_mail(data, received_at))
    to = data.get("to") or []
    recipient = to[0] if isinstance(to, list) and to else (to if isinstance(to, str) else None)
    at = _when(envelope.get("created_at"), received_at)
    facts = _facts(str(data.get("subject") or ""), data.get("email_id"), recipient, at)
    if kind == "email.delivered":
        return _delivered(data.get("email_id"), recipient, at)
    if kind == "email.bounced":
        bounce = data.get("bounce") or {}
        sub = str(bounce.get("subType") or "")
        bounce_type: BounceType = (
            "block" if sub in RESEND_BLOCKS
            else "hard" if bounce.get("type") == "Permanent"
            else "soft"
        )  # fmt: skip
        codes = bounce.get("diagnosticCode") or []
        diagnostic = "; ".join(map(str, codes)) if isinstance(codes, list) else str(codes)
        diagnostic = diagnostic or str(bounce.get("message") or "")
        evidence = f"Resend email.bounced: {bounce.get('type')}/{sub}"
        result = _bounce(bounce_type, recipient, diagnostic, evidence)
        return Event(result, facts, f"Bounced ({bounce.get('type')}, {sub}): {diagnostic}")
    if kind == "email.complained":
        result = Classification(
            kind="complaint", label="abuse", recipient=recipient,
            evidence=("Resend email.complained",),
        )  # fmt: skip
        return Event(result, facts, f"{recipient} marked the message as spam.")
    if kind == "email.delivery_delayed":
        result = Classification(
            kind="bounce_warning", label="delayed", recipient=recipient,
            evidence=("Resend email.delivery_delayed",),
        )  # fmt: skip
        return Event(result, facts, f"Delivery to {recipient} is delayed; Resend keeps trying.")
    if kind == "email.suppressed":
        evidence = "Resend email.suppressed: the address is on Resend's suppression list"
        result = _bounce("hard", recipient, None, evidence)
        return Event(result, facts, f"Resend did not send to {recipient}: suppressed.")
    if kind == "email.failed":
        failed = data.get("failed") or {}
        reason = str(failed.get("reason") or "") if isinstance(failed, dict) else ""
        result = _bounce("block", recipient, reason, "Resend email.failed: not sent")
        return Event(result, facts, f"Resend could not send the message: {reason or 'failed'}.")
    return None


# A received email's content, fetched from Resend (inbox/resend_content.py) and stored as its
# own item: {"type": RESEND_CONTENT, "data": <GET /emails/receiving/{id}>}.
RESEND_CONTENT = "email.received.content"
# Headers the message is rebuilt with from the fields, or that describe the old body.
_REBUILT = {"from", "to", "cc", "subject", "date", "message-id", "mime-version",
            "content-type", "content-transfer-encoding"}  # fmt: skip


def _resend_mail(data: dict[str, Any], received_at: datetime) -> bytes:
    """The message rebuilt from what Resend says of it: the `email.received` webhook's
    envelope (no body: Resend serves it from GET /emails/receiving/{email_id}), or the fetched
    content with its `text`, `html` and `headers` (In-Reply-To, References, Auto-Submitted ...
    are what threading and the rules read)."""
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = str(data.get("from") or "")
    for name, key in (("To", "to"), ("Cc", "cc")):
        value = data.get(key) or []
        if value:
            message[name] = ", ".join(value) if isinstance(value, list) else str(value)
    message["Subject"] = str(data.get("subject") or "")
    message["Date"] = format_datetime(_when(data.get("created_at"), received_at))
    if data.get("message_id"):
        message["Message-ID"] = str(data["message_id"])
    headers = data.get("headers") or {}
    if isinstance(headers, dict):
        for name, value in headers.items():
            if str(name).lower() not in _REBUILT and isinstance(value, str) and value.strip():
                try:
                    message[str(name)] = value
                except (ValueError, TypeError):
                    continue  # a header the policy refuses is left out, the rest is kept
    text, html = data.get("text"), data.get("html")
    message.set_content(text if isinstance(text, str) else "")
    if isinstance(html, str) and html.strip():
        message.add_alternative(html, subtype="html")
    return message.as_bytes()


SENDGRID_DROPS = {
    "Bounced Address": "hard",
    "Invalid": "hard",
    "Spam Reporting Address": "complaint",
    "Unsubscribed Address": "unsubscribe",
}


def _sendgrid(event: dict[str, Any], received_at: datetime) -> Event | Delivered | None:
    kind = event.get("event")
    recipient = event.get("email")
    at = _when(event.get("timestamp"), received_at)
    facts = _facts("", event.get("sg_message_id"), recipient, at)
    reason = str(event.get("reason") or event.get("response") or "")
    if kind == "delivered":
        # The X-Message-Id our send was answered with, which `sg_message_id` extends with a
        # `.filter…` part; our custom_args arrive flattened into the event.
        sent_as = str(event.get("sg_message_id") or "").split(".filter", 1)[0]
        return _delivered(sent_as, recipient, at, event)
    if kind == "bounce":
        status = str(event.get("status") or "") or None
        if event.get("type") == "blocked":
            bounce_type: BounceType = "block"
        elif status and status.startswith("4"):
            bounce_type = "soft"
        else:
            bounce_type = "hard"
        evidence = (
            f"SendGrid bounce event: type {event.get('type') or 'bounce'}, "
            f"classification {event.get('bounce_classification') or 'none'}"
        )
        result = _bounce(bounce_type, recipient, reason, evidence, status=status)
        return Event(result, facts, f"Bounced ({status or bounce_type}): {reason}")
    if kind == "dropped":
        meaning = SENDGRID_DROPS.get(reason, "block")
        evidence = f"SendGrid dropped the message: {reason or 'no reason given'}"
        if meaning in ("complaint", "unsubscribe"):
            result = Classification(
                kind=meaning, label="abuse" if meaning == "complaint" else None,  # type: ignore[arg-type]
                recipient=recipient, evidence=(evidence,),
            )  # fmt: skip
        else:
            result = _bounce(meaning, recipient, reason, evidence)  # type: ignore[arg-type]
        return Event(result, facts, f"Dropped by SendGrid: {reason}")
    if kind == "deferred":
        result = Classification(
            kind="bounce_warning", label="delayed", recipient=recipient, diagnostic=reason or None,
            evidence=(f"SendGrid deferred event (attempt {event.get('attempt')})",),
        )  # fmt: skip
        return Event(result, facts, f"Delivery to {recipient} deferred: {reason}")
    if kind == "spamreport":
        result = Classification(
            kind="complaint", label="abuse", recipient=recipient,
            evidence=("SendGrid spamreport event",),
        )  # fmt: skip
        return Event(result, facts, f"{recipient} marked the message as spam.")
    if kind in ("unsubscribe", "group_unsubscribe"):
        result = Classification(
            kind="unsubscribe", recipient=recipient, evidence=(f"SendGrid {kind} event",)
        )
        return Event(result, facts, f"{recipient} unsubscribed (SendGrid).")
    return None


def _parse_mail(form: dict[str, Any]) -> bytes:
    fields: dict[str, str] = form.get("fields", {})
    if fields.get("email"):
        return fields["email"].encode()
    undecoded = form.get("base64_fields", {}).get("email")
    if undecoded:
        return base64.b64decode(undecoded)
    message = EmailMessage(policy=policy.SMTP)
    head = BytesHeaderParser(policy=policy.compat32).parsebytes(
        (fields.get("headers") or "").encode("utf-8", "surrogateescape")
    )
    for name, value in head.items():
        lower = name.lower()
        if lower.startswith("content-") or lower == "mime-version":
            continue
        message[name] = _unfold(value)
    for name in ("from", "to", "subject"):
        if fields.get(name) and name.capitalize() not in message:
            message[name.capitalize()] = fields[name]
    _bodies(message, fields.get("text"), fields.get("html"))
    return message.as_bytes()


def _unfold(value: object) -> str:
    return re.sub(r"\r?\n[ \t]*", " ", str(value)).strip()

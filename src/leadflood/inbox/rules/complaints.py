"""Complaints: ARF feedback reports (RFC 5965), which mailbox providers send when a recipient
pressed "this is spam", and Microsoft's JMRP reports, which carry no ARF part. The
`message/feedback-report` part names the kind of feedback and, when the provider does not
redact it, the recipient; the returned copy carries our Message-ID."""

from __future__ import annotations

from leadflood.inbox.rules.message import ADDRESS, Message, addresses_in, first_address
from leadflood.inbox.rules.result import COMPLAINT_LABELS, Classification


def detect(message: Message) -> Classification | None:
    reports = [r for r in message.reports if r.content_type == "message/feedback-report"]
    if not reports and message.report_type != "feedback-report":
        return _jmrp(message)
    fields = {
        name.lower(): value
        for report in reports
        for block in report.blocks
        for name, value in block
    }
    feedback_type = fields.get("feedback-type", "").strip().lower() or "abuse"
    evidence = [
        "feedback report (RFC 5965 ARF)"
        + (f" with Feedback-Type: {feedback_type}" if "feedback-type" in fields else "")
    ]
    original = message.returned_message_id
    if feedback_type == "not-spam":  # a recipient taking a spam verdict back is no complaint
        return Classification(
            kind="auto_reply",
            label="auto_reply",
            original_message_id=original,
            evidence=(*evidence, "not-spam feedback: no complaint"),
        )
    recipient = _recipient(fields, message)
    if recipient:
        evidence.append(f"complaining recipient {recipient}")
    if original:
        evidence.append(f"our message {original} found in the returned copy")
    label = feedback_type if feedback_type in COMPLAINT_LABELS else "other"
    return Classification(
        kind="complaint",
        label=label,
        recipient=recipient,
        original_message_id=original,
        evidence=tuple(evidence),
    )


def _jmrp(message: Message) -> Classification | None:
    """Microsoft's junk mail reporting program sends no ARF part: the reported message comes
    attached, marked with the header naming the recipient who reported it."""
    for name, value in message.returned_headers:
        if name.lower() == "x-hmxmroriginalrecipient":
            recipient = first_address(value) or None
            original = message.returned_message_id
            evidence = ["Microsoft JMRP report: X-HmXmrOriginalRecipient in the attached message"]
            if original:
                evidence.append(f"our message {original} found in the returned copy")
            return Classification(
                kind="complaint",
                label="abuse",
                recipient=recipient,
                original_message_id=original,
                evidence=tuple(evidence),
            )
    return None


def _recipient(fields: dict[str, str], message: Message) -> str | None:
    for name in ("original-rcpt-to", "removal-recipient"):
        match = ADDRESS.search(fields.get(name, ""))
        if match:
            return match.group(0).lower()
    for name, value in message.returned_headers:
        if name.lower() == "to":
            found = addresses_in(value)
            if found:
                return found[0]
    return None

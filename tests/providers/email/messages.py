"""The email the HTTP provider tests send: one recipient, text and HTML, a reply-to, the
one-click unsubscribe headers and the lead's id as metadata."""

from __future__ import annotations

from typing import Any

from leadflood.providers.base import OutboundEmail


def make_email(**overrides: Any) -> OutboundEmail:
    fields: dict[str, Any] = {
        "message_id": "<lead-42.step-1@mail.sender.test>",
        "from_email": "ana@sender.test",
        "from_name": "Ana Lopez",
        "to": ["lead@prospect.test"],
        "subject": "Quick question",
        "text": "Hi there",
        "html": "<p>Hi there</p>",
        "reply_to": "replies@sender.test",
        "headers": {
            "List-Unsubscribe": "<https://app.test/u/tok>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        "metadata": {"lead_id": "42"},
    }
    fields.update(overrides)
    return OutboundEmail(**fields)

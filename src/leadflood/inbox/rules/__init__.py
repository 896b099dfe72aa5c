"""The inbox's understanding of an inbound message, by versioned rules: complaint, bounce (hard,
soft or block) or delay warning, auto-reply (out of office with the return date, left the
company with the new contact, ticket), unsubscribe request, or a human reply labelled
interested, not_interested, referral, question or other. Pure: no database, no network.

    from leadflood.inbox import rules
    result = rules.classify(raw_bytes)          # -> rules.Classification
    result.kind, result.label, result.evidence, result.to_json()

See docs/inbox-rules.md for the kinds, labels, precedence and how to change a rule."""

from __future__ import annotations

from datetime import date

from leadflood.inbox.rules.classifier import Classifier, RulesClassifier
from leadflood.inbox.rules.message import Message, parse
from leadflood.inbox.rules.result import RULES_VERSION, Classification

__all__ = [
    "RULES_VERSION",
    "Classification",
    "Classifier",
    "Message",
    "RulesClassifier",
    "classify",
    "parse",
]


def classify(raw: bytes, *, today: date | None = None) -> Classification:
    """Classifies one raw message with the shipped rules. `today` (when the message was
    received) resolves return dates written without a year; it defaults to the message's Date
    header, then to the current date."""
    return RulesClassifier().classify(parse(raw, received=today))

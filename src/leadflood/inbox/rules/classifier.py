"""Which rule wins. In order:

1. complaint       an ARF feedback report (or Microsoft's JMRP);
2. bounce / bounce_warning   a DSN or an MTA's failure report (a delay is a warning);
3. unsubscribe     a subject that is only a removal command: what mail clients send to a
                   List-Unsubscribe mailto address, often marked Auto-Submitted;
4. auto_reply      auto headers (Auto-Submitted, X-Autoreply, …): left_company, ticket,
                   out_of_office or auto_reply by the wording;
5. unsubscribe     removal asked in plain words in the text written now (quotes excluded);
6. auto_reply      by the wording alone, unless the text also shows a person's intent
                   (interest, refusal, a question): "I'm out of office but interested" is a reply;
7. reply           interested, not_interested, referral, question or other.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Protocol

from leadflood.inbox.rules import auto_replies, bounces, complaints, replies, unsubscribe
from leadflood.inbox.rules.message import Message
from leadflood.inbox.rules.result import RULES_VERSION, Classification


class Classifier(Protocol):
    """What understands an inbound message: these rules, or later a language model. `version`
    is stored with every result so a changed classifier can re-classify what it concluded."""

    version: str

    def classify(self, message: Message) -> Classification: ...


class RulesClassifier:
    version = RULES_VERSION

    def classify(self, message: Message) -> Classification:
        found = self._decide(message)
        notes = tuple(f"parsing: {defect}" for defect in message.defects)
        return dataclasses.replace(
            found,
            in_reply_to=message.in_reply_to,
            references=message.references,
            version=self.version,
            evidence=found.evidence + notes,
        )

    def _decide(self, message: Message) -> Classification:
        if not message.headers:
            return Classification(
                kind="reply",
                label="other",
                evidence=("not an email message (no header could be read): left as reply/other",),
            )
        today = message.received or date.today()
        found = complaints.detect(message) or bounces.detect(message)
        if found:
            return found
        removal = unsubscribe.request(message)
        auto = auto_replies.signals(message)
        if removal and (removal[1] == "subject" or not auto.headers):
            hit, where = removal
            return Classification(
                kind="unsubscribe", evidence=(f"removal asked in the {where}: {hit.describe()}",)
            )
        if auto.headers:
            return auto_replies.classify(message, auto, today)
        if auto.wording:
            intent = replies.human_intent(message.visible)
            if intent is None:
                return auto_replies.classify(message, auto, today)
            reply = replies.classify(message)
            note = (
                f"auto-reply wording but no auto headers, and a person's words {intent.describe()}"
            )
            return dataclasses.replace(reply, evidence=(note, *reply.evidence))
        return replies.classify(message)

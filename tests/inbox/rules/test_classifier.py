from __future__ import annotations

import dataclasses
from datetime import date

from leadflood.inbox import rules
from leadflood.inbox.rules import Classification, Classifier, Message, RulesClassifier


def message(body: str, *, headers: str = "", subject: str = "Re: Onboarding") -> bytes:
    return (
        "From: Ada Prospect <ada@prospect.example>\n"
        "To: Sam <sam@mail.outreach.example>\n"
        f"Subject: {subject}\n"
        "Date: Wed, 9 Dec 2026 10:00:00 +0000\n"
        "Message-ID: <r1@prospect.example>\n"
        "In-Reply-To: <seq-1@mail.outreach.example>\n"
        "References: <seq-0@mail.outreach.example> <seq-1@mail.outreach.example>\n"
        f"{headers}"
        "Content-Type: text/plain; charset=utf-8\n\n"
        f"{body}"
    ).encode()


def test_to_json_has_exactly_the_contract_fields():
    result = rules.classify(message("I'm on holiday, back on 12 January."))
    assert set(result.to_json()) == {
        "kind",
        "label",
        "bounce_type",
        "recipient",
        "return_date",
        "referral_email",
        "in_reply_to",
        "version",
        "evidence",
        "status",
        "diagnostic",
        "new_contact_email",
        "original_message_id",
    }
    assert result.to_json()["return_date"] == "2027-01-12"
    assert result.to_json()["evidence"] == list(result.evidence)


def test_threading_headers_are_kept():
    result = rules.classify(message("Sounds good, let's talk."))
    assert result.in_reply_to == "<seq-1@mail.outreach.example>"
    assert result.references == ("<seq-0@mail.outreach.example>", "<seq-1@mail.outreach.example>")


def test_today_resolves_dates_without_a_year():
    raw = message("I'm on holiday, back on 12 January.")
    assert rules.classify(raw).return_date == date(2027, 1, 12)  # from the Date header
    assert rules.classify(raw, today=date(2027, 2, 1)).return_date == date(2028, 1, 12)


def test_the_classifier_stamps_its_version():
    class Stricter(RulesClassifier):
        version = "rules-2027.01.1"

    classifier: Classifier = Stricter()
    result = classifier.classify(rules.parse(message("Not interested.")))
    assert result.version == "rules-2027.01.1"
    assert rules.classify(message("Not interested.")).version == rules.RULES_VERSION


def test_another_classifier_fits_the_protocol():
    class Fixed:
        version = "model-x"

        def classify(self, message: Message) -> Classification:
            return Classification(kind="reply", label="other", version=self.version)

    classifiers: list[Classifier] = [RulesClassifier(), Fixed()]
    parsed = rules.parse(message("Hello"))
    assert [c.classify(parsed).version for c in classifiers] == [rules.RULES_VERSION, "model-x"]


def test_a_classification_is_frozen():
    result = rules.classify(message("Hello"))
    try:
        result.kind = "bounce"  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        return
    raise AssertionError("a Classification must not change after the fact")


def test_auto_headers_win_over_removal_words():
    raw = message(
        "I am out of the office. To stop receiving these, unsubscribe.",
        headers="Auto-Submitted: auto-replied\n",
    )
    assert rules.classify(raw).kind == "auto_reply"


def test_a_footer_line_in_the_reply_text_is_no_request():
    raw = message(
        "Thanks!\n\nIf you no longer wish to receive these emails, click here to unsubscribe."
    )
    assert rules.classify(raw).kind == "reply"


def test_removal_words_in_plain_text_are_a_request():
    for words in (
        "abmelden bitte",
        "désinscrivez-moi",
        "por favor darse de baja",
        "afmelden a.u.b.",
    ):
        result = rules.classify(message(words))
        assert result.kind == "unsubscribe", words
        assert result.label is None


def test_a_human_out_of_office_with_a_question_is_a_reply():
    result = rules.classify(message("Out of office until Friday, but what is the price?"))
    assert (result.kind, result.label) == ("reply", "question")
    assert "no auto headers" in result.evidence[0]


def test_an_out_of_office_without_auto_headers_is_an_auto_reply():
    result = rules.classify(
        message("I am out of the office until 4 January with no access to email.")
    )
    assert (result.kind, result.label) == ("auto_reply", "out_of_office")
    assert result.return_date == date(2027, 1, 4)


def test_not_an_email_is_reply_other_saying_so():
    result = rules.classify(b"\x00\x01\x02 no headers here ?")
    assert (result.kind, result.label) == ("reply", "other")
    assert "not an email message" in result.evidence[0]

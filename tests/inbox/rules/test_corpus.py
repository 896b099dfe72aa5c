"""Every message of tests/inbox/corpus against its expected classification in expected.json.
Fields a message's entry leaves out are expected to be null."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leadflood.inbox import rules

CORPUS = Path(__file__).parent.parent / "corpus"
EXPECTED: dict[str, dict[str, str]] = json.loads((CORPUS / "expected.json").read_text())
FIELDS = (
    "kind",
    "label",
    "bounce_type",
    "recipient",
    "status",
    "return_date",
    "referral_email",
    "new_contact_email",
    "original_message_id",
)


def test_every_corpus_message_has_an_expectation_and_back():
    files = {path.name for path in CORPUS.glob("*.eml")}
    assert files == set(EXPECTED)


def test_the_corpus_covers_every_kind_and_label():
    seen = {(entry["kind"], entry.get("label")) for entry in EXPECTED.values()}
    kinds = {kind for kind, _ in seen}
    assert kinds == {"reply", "auto_reply", "bounce", "bounce_warning", "unsubscribe", "complaint"}
    for label in ("interested", "not_interested", "referral", "question", "other"):
        assert ("reply", label) in seen
    for label in ("out_of_office", "left_company", "ticket", "auto_reply"):
        assert ("auto_reply", label) in seen
    types = {entry.get("bounce_type") for entry in EXPECTED.values()}
    assert {"hard", "soft", "block"} <= types


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_message(name, corpus_tally):
    expected = {field: EXPECTED[name].get(field) for field in FIELDS}
    result = rules.classify((CORPUS / name).read_bytes()).to_json()
    got = {field: result[field] for field in FIELDS}
    corpus_tally[expected["kind"]].append(
        (
            got["kind"] == expected["kind"],
            (got["kind"], got["label"]) == (expected["kind"], expected["label"]),
            got == expected,
        )
    )
    assert got == expected, result["evidence"]
    assert result["version"] == rules.RULES_VERSION
    assert result["evidence"], "every classification says why"

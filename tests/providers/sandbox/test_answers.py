"""The simulated recipients' answers read like real mail and mean what they are meant to: every
wording of every kind is understood by the inbox's rules as that kind, the same message gets the
same bytes, and only the universe's people answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadflood.inbox import rules
from leadflood.providers.sandbox import answers
from leadflood.providers.sandbox.source import default_universe

SENT_AT = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
KINDS = (*answers.REPLY_KINDS, "bounce")


def _people_by_kind() -> dict[str, str]:
    universe, found, i = default_universe(), {}, 0
    while len(found) < len(KINDS) + 1:
        person = universe.person(i)
        i += 1
        if person.email:
            found.setdefault(answers.answer_kind(person.email) or "none", person.email)
    return found


def _sent(email: str, n: int = 0) -> answers.Sent:
    return answers.Sent(
        message_id=f"<m{n}.{email}@leadflood.local>",
        to_address=email,
        from_address="demo@leadflood.local",
        subject="Quick question",
        body_text="Hi there,\n\nWorth a 15-minute chat?\n\nUnsubscribe: https://x.example/u/t",
        sent_at=SENT_AT,
        first_name="Ada",
        last_name="Lovelace",
    )


def test_every_wording_of_every_kind_is_understood_as_that_kind() -> None:
    people = _people_by_kind()
    assert answers.build_answer(_sent(people["none"]), at=SENT_AT) is None
    for kind in KINDS:
        bodies = set()
        for n in range(24):  # enough Message-IDs to meet every variant
            sent = _sent(people[kind], n)
            raw = answers.build_answer(sent, at=SENT_AT + timedelta(seconds=20))
            assert raw is not None
            result = rules.classify(raw)
            got = {"reply": result.label, "auto_reply": result.label}.get(result.kind, result.kind)
            assert got == kind, (kind, n, raw.decode())
            if kind == "bounce":
                assert result.label == "user_unknown" and result.recipient == people[kind]
                assert result.original_message_id == sent.message_id
            else:
                assert result.in_reply_to == sent.message_id
            if kind == "out_of_office":
                assert result.return_date == answers.return_date(sent)
                assert 3 <= (result.return_date - SENT_AT.date()).days <= 6
            if kind == "referral":
                assert result.referral_email and result.referral_email != people[kind]
            bodies.add(rules.parse(raw).visible)
        if kind != "bounce":  # an MTA's notice is always worded alike
            assert len(bodies) >= 3, kind


def test_the_same_message_gets_the_same_answer_and_outsiders_none() -> None:
    people = _people_by_kind()
    sent = _sent(people["interested"])
    at = SENT_AT + timedelta(seconds=20)
    assert answers.build_answer(sent, at=at) == answers.build_answer(sent, at=at)
    assert answers.is_sandbox_recipient(people["interested"])
    assert not answers.is_sandbox_recipient("reply@real-company.example")

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from leadflood.providers.sandbox import simulated_outcome
from leadflood.providers.sandbox.recipients import OUTCOMES


@given(email=st.emails())
def test_outcome_is_one_of_four_and_deterministic(email: str) -> None:
    outcome = simulated_outcome(email)
    assert outcome in OUTCOMES
    assert simulated_outcome(f" {email.upper()} ") == outcome


def test_local_part_words_decide() -> None:
    assert simulated_outcome("will.bounce@acme.test") == "bounce"
    assert simulated_outcome("BOUNCE@acme.test") == "bounce"
    assert simulated_outcome("reply-please@acme.test") == "reply"
    assert simulated_outcome("stay.silent@acme.test") == "silent"


def test_shares_follow_the_documented_rates() -> None:
    counts = Counter(simulated_outcome(f"person{i}@company{i % 97}.test") for i in range(20_000))
    assert 0.02 < counts["bounce"] / 20_000 < 0.04
    assert 0.065 < counts["reply"] / 20_000 < 0.095
    assert 0.37 < counts["deliver"] / 20_000 < 0.43
    assert 0.46 < counts["silent"] / 20_000 < 0.52

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from leadflood.providers.sandbox import SandboxVerifier, default_universe

UNIVERSE = default_universe()
VERIFIER = SandboxVerifier()


@settings(max_examples=300, deadline=None)
@given(i=st.integers(min_value=0, max_value=len(UNIVERSE) - 1))
async def test_universe_emails_are_valid_or_accept_all(i: int) -> None:
    person = UNIVERSE.person(i)
    if person.email is None:
        return
    result = await VERIFIER.verify(person.email)
    company = UNIVERSE.company(person.raw["company_index"])
    expected = "risky" if company.accept_all else "valid"
    if "bounce" in person.email.split("@")[0]:
        expected = "invalid"
    assert result.status == expected
    assert result.evidence["rule"] and result.evidence["reason"]
    assert result == await VERIFIER.verify(person.email)


async def test_a_few_percent_of_universe_emails_are_risky() -> None:
    statuses = [
        (await VERIFIER.verify(p.email)).status
        for p in (UNIVERSE.person(i) for i in range(0, 40_000, 20))
        if p.email
    ]
    risky = statuses.count("risky") / len(statuses)
    assert 0.005 < risky < 0.10
    assert statuses.count("valid") / len(statuses) > 0.85


async def test_rules() -> None:
    domain = next(c.domain for c in UNIVERSE.companies if not c.accept_all)
    accept_all = next(c.domain for c in UNIVERSE.companies if c.accept_all)
    cases = {
        "please-bounce@example.com": ("invalid", "bounce_local_part"),
        f"bounce.me@{domain}": ("invalid", "bounce_local_part"),
        "anyone@risky.example": ("risky", "risky_domain"),
        "someone@unknown-company.test": ("unknown", "unknown_domain"),
        "bounce@real-company.de": ("unknown", "unknown_domain"),
        f"no.such.person.here@{domain}": ("invalid", "no_such_mailbox"),
        f"no.such.person.here@{accept_all}": ("risky", "accept_all"),
        "not an email": ("invalid", "syntax"),
        "a@b@c.com": ("invalid", "syntax"),
        "@example.com": ("invalid", "syntax"),
    }
    for email, (status, rule) in cases.items():
        result = await VERIFIER.verify(email)
        assert (result.status, result.evidence["rule"]) == (status, rule), email
        assert result.provider == "sandbox" and result.cost == 0

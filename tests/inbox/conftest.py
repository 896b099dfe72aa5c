"""The corpus run's accuracy per kind, printed after the tests."""

from __future__ import annotations

from collections import defaultdict

import pytest

# expected kind -> one (kind right, label right, every field right) per corpus message
TALLY = pytest.StashKey[dict[str, list[tuple[bool, bool, bool]]]]()


@pytest.fixture(scope="session")
def corpus_tally(pytestconfig: pytest.Config) -> dict[str, list[tuple[bool, bool, bool]]]:
    return pytestconfig.stash.setdefault(TALLY, defaultdict(list))


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    tally = config.stash.get(TALLY, None)
    if not tally:
        return
    write = terminalreporter.write_line
    terminalreporter.section("inbox rules: accuracy on the corpus")
    write(f"{'kind':<16}{'messages':>9}{'kind':>9}{'label':>9}{'all fields':>12}")
    rows = sorted(tally.items())
    everything = [outcome for _, outcomes in rows for outcome in outcomes]
    for kind, outcomes in [*rows, ("total", everything)]:
        count = len(outcomes)
        shares = [sum(outcome[i] for outcome in outcomes) / count for i in range(3)]
        write(f"{kind:<16}{count:>9}{shares[0]:>9.0%}{shares[1]:>9.0%}{shares[2]:>12.0%}")

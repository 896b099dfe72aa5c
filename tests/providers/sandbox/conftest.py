from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from leadflood.providers.base import Prospect
from leadflood.providers.sandbox import Universe


@pytest.fixture(scope="session")
def zones_by_country() -> dict[str, set[str]]:
    """The IANA zone table, an oracle independent of the sandbox's own data."""
    zones: dict[str, set[str]] = defaultdict(set)
    for line in Path("/usr/share/zoneinfo/zone.tab").read_text().splitlines():
        if line and not line.startswith("#"):
            code, _, zone = line.split("\t")[:3]
            zones[code].add(zone)
    return dict(zones)


@pytest.fixture(scope="session")
def small_universe() -> Universe:
    return Universe(seed=11, people=3_000, companies=300)


@pytest.fixture(scope="session")
def small_people(small_universe: Universe) -> list[Prospect]:
    return list(small_universe.iter_people())

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.smtp_server import SmtpTestServer


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpTestServer]:
    with SmtpTestServer(record_dir=tmp_path / "caught") as server:
        yield server

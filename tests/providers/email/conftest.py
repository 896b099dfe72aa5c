from __future__ import annotations

import sys
from pathlib import Path

import pytest

# `python -m pytest` puts the repository root on sys.path, plain `pytest` does not; the tests
# here import the shared SMTP server as `tests.support.smtp_server` either way.
_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.support.fake_api import FakeApi  # noqa: E402


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()

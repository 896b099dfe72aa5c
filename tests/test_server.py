"""`up` and `serve` without PUBLIC_URL: links in emails point at the port actually served."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadflood.server import served_at
from leadflood.settings import load_settings


@pytest.fixture
def no_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    monkeypatch.chdir(Path(__file__).parent)  # no .env here


def test_the_port_served_is_the_one_linked(no_public_url: None, tmp_path: Path) -> None:
    settings = served_at(load_settings(data_dir=tmp_path), "127.0.0.1", 8765)
    assert settings.public_url == "http://127.0.0.1:8765"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", ""])
def test_every_interface_links_to_the_loopback(
    no_public_url: None, tmp_path: Path, host: str
) -> None:
    assert served_at(load_settings(data_dir=tmp_path), host, 9000).public_url == (
        "http://127.0.0.1:9000"
    )


def test_a_named_host_is_kept(no_public_url: None, tmp_path: Path) -> None:
    settings = served_at(load_settings(data_dir=tmp_path), "crm.internal", 8080)
    assert settings.public_url == "http://crm.internal:8080"


def test_an_explicit_public_url_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PUBLIC_URL", "https://outreach.example.com")
    settings = served_at(load_settings(data_dir=tmp_path), "0.0.0.0", 8765)
    assert settings.public_url == "https://outreach.example.com"

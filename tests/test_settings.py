from __future__ import annotations

import subprocess
import sys

import pytest

from leadflood.errors import ConfigError
from leadflood.settings import load_settings


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"DATABASE_URL": "mysql://root@localhost/x"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://localhost"}, "DATABASE_URL"),
        ({"LEADFLOOD_ENV": "staging"}, "LEADFLOOD_ENV"),
        ({"LEADFLOOD_ENV": "production", "SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"WORKER_HEARTBEAT_SECONDS": "-1"}, "WORKER_HEARTBEAT_SECONDS"),
    ],
)
def test_a_bad_value_names_its_variable(monkeypatch, tmp_path, env, variable) -> None:
    monkeypatch.setenv("LEADFLOOD_DATA_DIR", str(tmp_path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert str(error.value).startswith(f"{variable}: ")
    assert "\n" not in str(error.value)


def test_development_gets_a_persistent_secret(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("LEADFLOOD_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_settings().secret_key
    assert len(first) >= 32
    assert load_settings().secret_key == first


def test_cli_stops_with_one_line_and_starts_nothing(tmp_path) -> None:
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": "nonsense://", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "leadflood", "doctor", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "DATABASE_URL" in lines[0]
    assert not (tmp_path / "pg").exists()

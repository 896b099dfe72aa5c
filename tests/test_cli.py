"""The command line on any data directory: a brand-new one is migrated first, as `up` does; a
user's mistake is one line with its code, never a traceback (`--debug` shows it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import run_cli

pytestmark = pytest.mark.slow


def _fresh(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "LEADFLOOD_", "PYTEST"))
    }
    env.update(LEADFLOOD_DATA_DIR=str(tmp_path / "brand-new"), SECRET_KEY="x" * 48)
    return subprocess.run(
        [sys.executable, "-m", "leadflood", *args],
        env=env, input=stdin, capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def test_a_command_on_a_brand_new_data_directory_migrates_it_first(tmp_path: Path) -> None:
    # The first command of all is a plain read: the database is created and migrated for it.
    first = _fresh(tmp_path, "leads", "list")
    assert "Traceback" not in first.stderr + first.stdout, first.stderr
    assert "workspace" in first.stderr.lower(), first.stderr
    assert "leadflood users create" in " ".join(first.stderr.split()), first.stderr  # what to do
    done = _fresh(
        tmp_path, "users", "create", "--email", "ada@example.com", "--workspace", "Acme",
        "--password-stdin", stdin="correct horse battery 9\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = _fresh(tmp_path, "leads", "list", "--workspace", "Acme")
    assert listed.returncode == 0, listed.stderr
    assert "Traceback" not in listed.stderr + listed.stdout
    # A one-off command's answer is its output: no log lines unless asked for.
    assert listed.stderr.strip() == "", listed.stderr
    verbose = _fresh(tmp_path, "--verbose", "leads", "list", "--workspace", "Acme")
    assert verbose.returncode == 0, verbose.stderr


def test_user_errors_are_one_line_without_a_traceback(tmp_path: Path, database_url: str) -> None:
    for args in (
        ["leads", "show", "nobody@nowhere.example"],
        ["leads", "import", str(tmp_path / "missing.csv")],
        ["mailboxes", "sync", "00000000-0000-0000-0000-000000000000"],
    ):
        done = run_cli(tmp_path, database_url, *args)
        assert done.returncode != 0, args
        assert "Traceback" not in done.stderr + done.stdout, (args, done.stderr)
        assert done.stderr.strip(), args

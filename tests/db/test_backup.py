"""Backup and restore against the run's embedded PostgreSQL, each test on its own databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from typer.testing import CliRunner

from leadflood.cli import app
from leadflood.db import backup
from tests.conftest import TEMPLATE

runner = CliRunner()


@pytest.fixture
def fresh_name(pg_server: str) -> Iterator[object]:
    """`url = fresh_name()`: the URL of a database name no one uses (not created); all are
    dropped at the end."""
    names: list[str] = []

    def make() -> str:
        name = f"restore_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        names.append(name)
        return pg_server.replace("/postgres?", f"/{name}?")

    yield make
    with psycopg.connect(pg_server, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _names(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute("SELECT name FROM workspaces ORDER BY name")]


def _write(url: str, statement: str, *params: object) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement, params)


def _add_workspace(url: str, name: str) -> None:
    _write(
        url,
        "INSERT INTO workspaces (id, name, slug, created_at, updated_at) "
        "VALUES (gen_random_uuid(), %s, %s, now(), now())",
        name,
        name.lower(),
    )


def test_backup_change_restore_brings_the_data_back(database_url, fresh_name, tmp_path):
    _add_workspace(database_url, "Acme")
    _add_workspace(database_url, "Globex")
    dump = tmp_path / "leadflood.dump"

    size = backup.dump(database_url, dump)

    assert size == dump.stat().st_size > 0
    _write(database_url, "DELETE FROM workspaces WHERE name = 'Acme'")
    _add_workspace(database_url, "Initech")
    assert _names(database_url) == ["Globex", "Initech"]

    with pytest.raises(backup.RestoreTargetNotEmpty) as refused:
        backup.restore(database_url, dump)
    assert refused.value.code == "restore_target_not_empty"
    assert "--force" in refused.value.message
    assert _names(database_url) == ["Globex", "Initech"]

    backup.restore(database_url, dump, force=True)
    assert _names(database_url) == ["Acme", "Globex"]

    # Into a database that does not exist yet: created, then restored, schema and all.
    target = fresh_name()
    backup.restore(target, dump)
    assert _names(target) == ["Acme", "Globex"]
    with psycopg.connect(target) as conn:
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    with psycopg.connect(database_url) as conn:
        assert revision == conn.execute("SELECT version_num FROM alembic_version").fetchone()


def test_a_missing_file_and_a_bad_target_are_clear_errors(database_url, fresh_name, tmp_path):
    with pytest.raises(backup.BackupFileMissing):
        backup.restore(fresh_name(), tmp_path / "nope.dump")
    with pytest.raises(backup.BackupError, match="does not exist"):
        backup.dump(database_url, tmp_path / "missing-dir" / "x.dump")
    not_a_dump = tmp_path / "junk.dump"
    not_a_dump.write_text("not a dump")
    with pytest.raises(backup.RestoreFailed):
        backup.restore(fresh_name(), not_a_dump)


def test_the_commands_work_on_a_database_url(database_url, fresh_name, tmp_path):
    _add_workspace(database_url, "Acme")
    dump = tmp_path / "cli.dump"
    env = {"DATABASE_URL": database_url, "SECRET_KEY": "x" * 48, "LOG_LEVEL": "warning"}

    made = runner.invoke(app, ["backup", "--out", str(dump)], env=env)
    assert made.exit_code == 0, made.output
    assert "Backup written" in made.stdout

    refused = runner.invoke(app, ["restore", str(dump)], env=env)
    assert refused.exit_code == 1
    assert "restore_target_not_empty" in refused.stderr

    target = fresh_name()
    restored = runner.invoke(app, ["restore", str(dump)], env={**env, "DATABASE_URL": target})
    assert restored.exit_code == 0, restored.output
    assert _names(target) == ["Acme"]


def test_the_commands_work_on_the_embedded_default(pg_server, tmp_path, monkeypatch):
    """A fresh data directory starts its own embedded server; restore fills it."""
    source = pg_server.replace("/postgres?", f"/{TEMPLATE}?")
    dump = tmp_path / "template.dump"
    backup.dump(source, dump)
    data_dir = tmp_path / "data"
    env = {"SECRET_KEY": "x" * 48, "LOG_LEVEL": "warning"}
    monkeypatch.delenv("DATABASE_URL", raising=False)

    restored = runner.invoke(app, ["restore", str(dump), "--data-dir", str(data_dir)], env=env)
    assert restored.exit_code == 0, restored.output
    assert "embedded database" in restored.stdout
    again = runner.invoke(app, ["restore", str(dump), "--data-dir", str(data_dir)], env=env)
    assert again.exit_code == 1
    assert "restore_target_not_empty" in again.stderr
    out = tmp_path / "embedded.dump"
    made = runner.invoke(app, ["backup", "--out", str(out), "--data-dir", str(data_dir)], env=env)
    assert made.exit_code == 0, made.output
    assert out.stat().st_size > 0

"""Alembic, driven from code: `leadflood db upgrade` and the start-up of `leadflood up`."""

from __future__ import annotations

from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from leadflood.db.urls import sqlalchemy_url

MIGRATIONS = Path(__file__).parent / "migrations"
# Serialises concurrent `upgrade` calls (several processes starting at once).
_LOCK_KEY = 0x1EAD_F100D


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    with psycopg.connect(url, autocommit=True) as lock:
        lock.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            command.upgrade(alembic_config(url), revision)
        finally:
            lock.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))


def revision(url: str, message: str, *, autogenerate: bool = True) -> None:
    command.revision(alembic_config(url), message=message, autogenerate=autogenerate)


def current_and_head(url: str) -> tuple[str | None, str | None]:
    """The database's revision and the code's head revision."""
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
    return current, head

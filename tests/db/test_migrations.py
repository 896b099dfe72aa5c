from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from leadflood.db import migrate
from leadflood.db.urls import sqlalchemy_url
from leadflood.models import Base


def test_migrations_are_at_head_and_match_the_models(database_url) -> None:
    current, head = migrate.current_and_head(database_url)
    assert current == head
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_object": lambda obj, name, type_, reflected, compare_to: (
                    not (name or "").startswith("procrastinate")
                ),
                "compare_type": True,
            },
        )
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == [], diff


def test_upgrade_is_idempotent(database_url) -> None:
    migrate.upgrade(database_url)
    current, head = migrate.current_and_head(database_url)
    assert current == head

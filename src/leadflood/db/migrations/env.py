from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine

from leadflood.models import Base

config = context.config


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    # The job queue's tables belong to Procrastinate's own schema, applied by our first revision.
    return not (name or "").startswith("procrastinate")


def run_migrations_online() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            include_object=include_object,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()

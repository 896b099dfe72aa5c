"""The database handle of a process: engine, session factory and the libpq URL that the job
queue uses. Built once at start-up, never at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from leadflood.db import embedded
from leadflood.db.urls import libpq_url, sqlalchemy_url
from leadflood.settings import Settings


def when_transaction_ends(
    session: AsyncSession,
    *,
    committed: Callable[[], None] | None = None,
    rolled_back: Callable[[], None] | None = None,
) -> None:
    """Runs one of two callbacks, once, when the session's database transaction ends: for work
    outside the database that must follow its rows (a file stored for a row that is never
    committed is removed; a file is removed only once its row says so)."""
    done = False

    def once(callback: Callable[[], None] | None) -> Callable[[Any], None]:
        def fire(_: Any) -> None:
            nonlocal done
            if not done:
                done = True
                if callback is not None:
                    callback()

        return fire

    event.listen(session.sync_session, "after_commit", once(committed), once=True)
    event.listen(session.sync_session, "after_rollback", once(rolled_back), once=True)


@dataclass
class Database:
    url: str  # libpq form, for psycopg and the job queue
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    server: Any = field(default=None, repr=False)  # the pgserver handle, when embedded

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits when the block ends normally, rolls back otherwise."""
        async with self.sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()


def resolve_url(settings: Settings) -> tuple[str, Any]:
    """The URL to use, starting the embedded server when DATABASE_URL is unset."""
    if settings.database_url:
        return libpq_url(settings.database_url), None
    server, url = embedded.start(settings.data_dir)
    return url, server


def connect(settings: Settings, *, url: str | None = None, server: Any = None) -> Database:
    if url is None:
        url, server = resolve_url(settings)
    engine = create_async_engine(
        sqlalchemy_url(url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 5},
    )
    # `info["settings"]` lets a service reach process settings (the encryption keys) from its
    # session alone.
    sessions = async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, info={"settings": settings}
    )
    return Database(url=url, engine=engine, sessions=sessions, server=server)

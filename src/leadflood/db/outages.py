"""A database that went away (a restart, a failover, the network) against one that is set up
wrong (the URL, credentials, database name, missing tables): a process waits out the first and
stops with one line on the second."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import psycopg
from sqlalchemy import exc as sa_exc

# Sent by a server going down or coming up (admin_shutdown, crash_shutdown, cannot_connect_now)
# and when it is full (too_many_connections); class 08 is "connection exception".
_PASSING_STATES = {"57P01", "57P02", "57P03", "53300"}
# libpq reports a refused login with no SQLSTATE, only the server's text (English unless the
# server's lc_messages says otherwise; another language reads as an outage, waited out).
_MISCONFIGURED = (
    "does not exist",  # database or role
    "password authentication failed",
    "no pg_hba.conf entry",
    "authentication failed",
    "password is required",
)
CONNECT_TIMEOUT = 5


class DatabaseUnreachable(Exception):
    """The server does not answer, or answers that it is going down or starting up."""


class DatabaseMisconfigured(Exception):
    """Waiting will not help: the URL, credentials or schema must change."""


def one_line(error: BaseException) -> str:
    """The database's own words when `error` wraps one (Procrastinate's ConnectorException
    says only "Database error."), on one line."""
    said = next((cause for cause in _chain(error) if isinstance(cause, psycopg.Error)), error)
    return " ".join(str(said).split()) or said.__class__.__name__


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_outage(error: BaseException) -> bool:
    """True when `error` (or what caused it) says the connection to the database was lost or
    could not be made, rather than that a statement failed."""
    for cause in _chain(error):
        if isinstance(cause, DatabaseUnreachable):
            return True
        if isinstance(cause, sa_exc.DBAPIError) and cause.connection_invalidated:
            return True
        if isinstance(cause, psycopg.OperationalError) and not _misconfigured(cause):
            state = cause.sqlstate
            if state is None or state.startswith("08") or state in _PASSING_STATES:
                return True
    return False


def _misconfigured(error: psycopg.Error) -> bool:
    if isinstance(error, psycopg.ProgrammingError) and error.sqlstate is None:
        return True  # a malformed connection string
    if error.sqlstate is not None:
        return error.sqlstate.startswith("28") or error.sqlstate == "3D000"
    text = str(error)
    return any(marker in text for marker in _MISCONFIGURED)


async def probe(url: str, *, timeout: float = CONNECT_TIMEOUT) -> None:
    """Connect once and look for the job queue's tables. Raises DatabaseUnreachable (worth
    waiting for) or DatabaseMisconfigured (not)."""
    try:
        async with asyncio.timeout(timeout + 1):
            connection = await psycopg.AsyncConnection.connect(
                url, connect_timeout=max(1, int(timeout)), autocommit=True
            )
            async with connection:
                cursor = await connection.execute("SELECT to_regclass('procrastinate_jobs')")
                row = await cursor.fetchone()
    except TimeoutError:
        raise DatabaseUnreachable(f"no answer within {timeout:g} s") from None
    except psycopg.Error as exc:
        if _misconfigured(exc):
            raise DatabaseMisconfigured(one_line(exc)) from None
        if is_outage(exc):
            raise DatabaseUnreachable(one_line(exc)) from None
        raise
    if row is None or row[0] is None:
        raise DatabaseMisconfigured(
            "the job queue's tables are missing from this database: run `leadflood db upgrade`"
        )

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from leadflood.db import outages
from leadflood.db.engine import connect


async def test_a_migrated_database_passes_the_probe(database_url) -> None:
    await outages.probe(database_url)


async def test_a_server_that_does_not_answer_is_unreachable(tmp_path) -> None:
    with pytest.raises(outages.DatabaseUnreachable) as caught:
        await outages.probe(f"postgresql://postgres@/leadflood?host={tmp_path}")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "change",
    [
        lambda url: url.replace("/test_", "/missing_", 1),  # database name
        lambda url: url.replace("postgres:@", "nobody:@", 1).replace("postgres@", "nobody@", 1),
        lambda url: url + "&no_such_option=1",
    ],
    ids=["database", "role", "option"],
)
async def test_a_wrong_url_is_misconfigured_not_an_outage(database_url, change) -> None:
    with pytest.raises(outages.DatabaseMisconfigured):
        await outages.probe(change(database_url))


async def test_a_database_without_the_job_queue_says_to_upgrade(pg_server) -> None:
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "outages_empty"')
        conn.execute('CREATE DATABASE "outages_empty"')
    try:
        with pytest.raises(outages.DatabaseMisconfigured, match="leadflood db upgrade"):
            await outages.probe(pg_server.replace("/postgres?", "/outages_empty?"))
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute('DROP DATABASE IF EXISTS "outages_empty" WITH (FORCE)')


async def test_a_lost_connection_is_an_outage_and_a_bad_statement_is_not(
    settings, runtime, tmp_path
) -> None:
    nowhere = connect(settings, url=f"postgresql://postgres@/x?host={tmp_path}")
    try:
        with pytest.raises(Exception) as lost:
            async with nowhere.sessions() as session:
                await session.execute(text("SELECT 1"))
    finally:
        await nowhere.dispose()
    assert outages.is_outage(lost.value)

    with pytest.raises(ProgrammingError) as bad:
        async with runtime.db.sessions() as session:
            await session.execute(text("SELECT * FROM no_such_table"))
    assert not outages.is_outage(bad.value)
    assert not outages.is_outage(ValueError("not a database error"))


async def test_a_terminated_session_is_an_outage(database_url) -> None:
    victim = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
    pid = victim.info.backend_pid
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(psycopg.OperationalError) as caught:
        await victim.execute("SELECT 1")
    await victim.close()
    assert outages.is_outage(caught.value)


def test_the_reason_given_is_the_database_s_own_on_one_line() -> None:
    class Wrapper(Exception):
        pass

    try:
        try:
            raise psycopg.OperationalError("connection failed:\n  server closed the connection")
        except psycopg.OperationalError as exc:
            raise Wrapper("\n    Database error.\n    ") from exc
    except Wrapper as wrapped:
        assert outages.one_line(wrapped) == "connection failed: server closed the connection"
    assert outages.one_line(ValueError()) == "ValueError"

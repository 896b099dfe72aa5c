from __future__ import annotations

from sqlalchemy import text

from leadflood.db.engine import connect
from leadflood.runtime import Runtime
from leadflood.system import doctor


async def _checks(runtime: Runtime) -> dict[str, doctor.Check]:
    return {check.name: check for check in await doctor.run(runtime)}


async def test_a_database_no_worker_ever_ran_on_says_to_start_one(runtime) -> None:
    check = (await _checks(runtime))["worker heartbeat"]
    assert not check.ok
    assert "no worker has ever run" in check.detail
    assert "leadflood worker" in check.detail


async def test_workers_that_stopped_beating_are_named_with_what_to_do(runtime) -> None:
    async with runtime.db.session() as session:
        await session.execute(
            text(
                "INSERT INTO procrastinate_workers (last_heartbeat) "
                "VALUES (now() - interval '10 min')"
            )
        )
    check = (await _checks(runtime))["worker heartbeat"]
    assert not check.ok
    assert "last heartbeat was 6" in check.detail  # 600 s and a little
    assert "nothing is sent" in check.detail
    assert "log" in check.detail and "leadflood worker" in check.detail
    assert "WORKER_STALE_SECONDS" in check.detail


async def test_a_live_worker_passes(runtime) -> None:
    async with runtime.db.session() as session:
        await session.execute(text("INSERT INTO procrastinate_workers DEFAULT VALUES"))
    check = (await _checks(runtime))["worker heartbeat"]
    assert check.ok
    assert check.detail.startswith("1 worker(s) alive")


async def test_an_unreachable_database_says_what_to_do(settings, tmp_path) -> None:
    url = f"postgresql://postgres@/nowhere?host={tmp_path}&connect_timeout=1"
    runtime = Runtime(settings, connect(settings, url=url))
    try:
        check = (await _checks(runtime))["database"]
    finally:
        await runtime.aclose()
    assert not check.ok
    assert check.detail.startswith("unreachable: ")
    assert "start PostgreSQL" in check.detail and "WORKER_DATABASE_WAIT_SECONDS" in check.detail


async def test_mailboxes_whose_replies_are_not_read_are_named(
    runtime: Runtime, dovecot, imap_user
) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from leadflood.inbox.sync import sync_mailbox
    from leadflood.models import Mailbox, MailboxFolder
    from tests.factories import make_imap_mailbox, make_workspace

    assert "inbox sync" not in await _checks(runtime)  # no mailbox reads replies
    async with runtime.db.session() as session:
        workspace = await make_workspace(session)
        good = await make_imap_mailbox(
            session, workspace.id, dovecot.imap_settings(imap_user), name="Good"
        )
        broken = await make_imap_mailbox(
            session, workspace.id, dovecot.imap_settings(imap_user, password="x"), name="Broken"
        )
    await sync_mailbox(runtime.db, good.id)
    await sync_mailbox(runtime.db, broken.id)
    check = (await _checks(runtime))["inbox sync"]
    assert not check.ok and "Broken" in check.detail and "Good" not in check.detail
    assert "rejected the login" in check.detail and "last good sync never" in check.detail

    async with runtime.db.session() as session:
        await session.execute(update(Mailbox).where(Mailbox.id == broken.id).values(imap=None))
        await session.execute(
            update(MailboxFolder)
            .where(MailboxFolder.mailbox_id == good.id)
            .values(last_good_sync_at=datetime.now(UTC) - timedelta(hours=2))
        )
    check = (await _checks(runtime))["inbox sync"]
    assert not check.ok and "Good" in check.detail and "stale" in check.detail
    await sync_mailbox(runtime.db, good.id)
    check = (await _checks(runtime))["inbox sync"]
    assert check.ok and "1 mailbox(es)" in check.detail


async def test_an_open_breaker_is_named_with_its_error_and_cool_down(runtime) -> None:
    from datetime import timedelta

    from leadflood.providers.base import TemporaryProviderError
    from leadflood.system import breakers

    assert (await _checks(runtime))["circuit breakers"].ok
    engine = runtime.db.engine
    policy = breakers.Policy(failures=2, cool_down=timedelta(seconds=300))
    gate = await breakers.enter(engine, "postmark", "mailbox-7", policy)
    for _ in range(2):
        await gate.failure(
            engine,
            TemporaryProviderError("postmark timed out", provider="postmark", code="timeout"),
        )
    check = (await _checks(runtime))["circuit breakers"]
    assert not check.ok
    assert "postmark mailbox-7 open after 2 failure(s)" in check.detail
    assert "s of cool-down left" in check.detail and "postmark timed out" in check.detail

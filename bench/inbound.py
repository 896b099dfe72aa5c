"""Inbound mail end to end against a bare IMAP fetch of the same messages, with the same client,
in one run; then the time from a reply's APPEND to its enrollment being stopped, over IDLE.

  1. setup: M mailboxes on a local Dovecot, each with its share of N leads, one sent message
     and one active enrollment per lead; each lead's answer is APPENDed to its mailbox's INBOX
     (the sandbox's answers: replies of every label, out-of-office notices, DSN bounces);
  2. baseline: for each mailbox, the project's IMAP client (`ImapConnection`) logs in, selects
     INBOX read-only and fetches every message with BODY.PEEK[] in the sync's batches: the
     physical floor of reading the same mail;
  3. ingest: `inbox.sync.sync_mailbox` with the inbox's processing (`process.ingest_imap`), what
     the `inbox.sync_mailbox` job runs: fetch, parse, classify, thread, store raw, record, apply
     effects, move the folder's position; every message must end stored and every enrollment
     stopped or paused;
  4. IDLE: the IDLE supervisor (`inbox.idle.run`) and a worker run in this process; one reply at
     a time is APPENDed and the time until its enrollment is stopped is taken.
Prints the figures, the ratio bare / ingest (target >= 0.5) and the IDLE p50/p95 (target p95
<= 5 s).

    python bench/inbound.py [--messages 20000] [--mailboxes 50] [--idle-samples 20]

Uses DATABASE_URL when set, else an embedded PostgreSQL in a temporary directory. Needs Debian's
dovecot-imapd (`make dovecot`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support.dovecot

from tests.support.dovecot import DovecotServer

FROM_DOMAIN = "sender.example"
KINDS = ("interested", "not_interested", "question", "referral", "out_of_office", "bounce")
SUBJECT = "Quick question about your outbound"
BODY = "Hi Ada,\n\nWould a 15-minute call next week make sense?\n\nSam\n"


class Timed:
    def __init__(self, wall: float, cpu: float) -> None:
        self.wall, self.cpu = wall, cpu


def answer(message_id: str, to: str, sender: str, kind: str, sent_at: datetime) -> bytes:
    from leadflood.providers.sandbox import answers

    sent = answers.Sent(
        message_id=message_id,
        to_address=to,
        from_address=sender,
        subject=SUBJECT,
        body_text=BODY,
        sent_at=sent_at,
        first_name="Ada",
        last_name="Example",
    )
    return answers.build(sent, kind, at=sent_at + timedelta(minutes=5))


async def setup(
    db: Any, dovecot: DovecotServer, mailboxes: int, n: int, idle_samples: int
) -> tuple[uuid.UUID, list[tuple[uuid.UUID, str]], list[tuple[str, str, str, uuid.UUID]]]:
    """The workspace, its mailboxes (id, IMAP user), and for the IDLE phase the unanswered
    (lead email, our Message-ID, our address, enrollment id) of the first mailbox."""
    from sqlalchemy import insert

    from leadflood.auth import credentials
    from leadflood.auth import service as accounts
    from leadflood.models import (
        CredentialKind,
        Enrollment,
        Lead,
        Mailbox,
        Message,
        MessageStatus,
        Sequence,
        SequenceState,
        SequenceStep,
    )

    sent_at = datetime.now(UTC) - timedelta(hours=1)
    boxes: list[tuple[uuid.UUID, str, str]] = []
    idle: list[tuple[str, str, str, uuid.UUID]] = []
    async with db.session() as session:
        workspace = await accounts.create_workspace(session, name=f"Bench {uuid.uuid4().hex[:6]}")
        ws = workspace.id
        sequence = Sequence(
            workspace_id=ws,
            name="Bench",
            state=SequenceState.active,
            postal_address="Acme Ltd, 1 Harbour Street, Bristol",
            window={},
            timezone="UTC",
        )
        session.add(sequence)
        await session.flush()
        step = SequenceStep(workspace_id=ws, sequence_id=sequence.id, position=1)
        session.add(step)
        for m in range(mailboxes):
            user = f"box{m}"
            dovecot.add_user(user, f"pw-{m}")
            address = f"sam{m}@{FROM_DOMAIN}"
            mailbox = Mailbox(
                workspace_id=ws,
                name=f"Box {m}",
                provider="smtp",
                from_name="Sam Sender",
                from_email=address,
                config={},
                window={},
                dns_checks={},
                daily_cap=1000,
                min_gap_seconds=0,
                jitter_seconds=0,
                imap={
                    "host": dovecot.host,
                    "port": dovecot.port,
                    "tls_mode": "none",
                    "username": user,
                    "folders": ["INBOX"],
                    "same_as_smtp": False,
                    "poll_seconds": 86_400,  # only IDLE brings mail in quickly
                },
            )
            mailbox.imap_secret_id = await credentials.store(
                session, ws, provider="imap", kind=CredentialKind.imap_secret, secret=f"pw-{m}"
            )
            session.add(mailbox)
            await session.flush()
            boxes.append((mailbox.id, user, address))
        await session.flush()

        leads, messages, enrollments = [], [], []
        appends: dict[str, list[bytes]] = {user: [] for _, user, _ in boxes}
        total = n + idle_samples
        for i in range(total):
            box_id, user, address = boxes[0] if i >= n else boxes[i % mailboxes]
            lead_id, enrollment_id = uuid.uuid4(), uuid.uuid4()
            email = f"lead{i}@prospect{i % 97}.example"
            message_id = f"<{uuid.uuid4()}@{FROM_DOMAIN}>"
            leads.append({"id": lead_id, "workspace_id": ws, "email": email, "first_name": "Ada"})
            enrollments.append(
                {
                    "id": enrollment_id,
                    "workspace_id": ws,
                    "sequence_id": sequence.id,
                    "lead_id": lead_id,
                    "state": "active",
                    "next_step": 2,
                    "mailbox_id": box_id,
                }
            )
            messages.append(
                {
                    "id": uuid.uuid4(),
                    "workspace_id": ws,
                    "enrollment_id": enrollment_id,
                    "step_id": step.id,
                    "lead_id": lead_id,
                    "mailbox_id": box_id,
                    "channel": "email",
                    "direction": "outbound",
                    "status": MessageStatus.sent,
                    "to_address": email,
                    "from_address": address,
                    "subject": SUBJECT,
                    "body_text": BODY,
                    "headers": {},
                    "message_id": message_id,
                    "send_after": sent_at,
                    "sent_at": sent_at,
                    "attempts": 1,
                }
            )
            if i >= n:
                idle.append((email, message_id, address, enrollment_id))
            else:
                kind = KINDS[i % len(KINDS)]
                appends[user].append(answer(message_id, email, address, kind, sent_at))
        for table, rows in ((Lead, leads), (Enrollment, enrollments), (Message, messages)):
            for start in range(0, len(rows), 2000):
                await session.execute(insert(table), rows[start : start + 2000])

    def deliver_all() -> None:
        for user, raws in appends.items():
            with dovecot.client(user) as client:
                for raw in raws:
                    client.append("INBOX", raw)

    await asyncio.to_thread(deliver_all)
    return ws, [(box_id, user) for box_id, user, _ in boxes], idle


def bare_fetch(dovecot: DovecotServer, users: list[str]) -> tuple[Timed, int]:
    from leadflood.inbox.sync import BATCH
    from leadflood.providers.inbound.imap import ImapConnection, ImapSettings

    wall, cpu = time.perf_counter(), time.process_time()
    fetched = 0
    for user in users:
        login = ImapSettings(dovecot.host, dovecot.port, "none", user, dovecot.passwords[user])
        with ImapConnection(login) as connection:
            connection.select("INBOX")
            uids = connection.uids_after(0)
            for start in range(0, len(uids), BATCH):
                fetched += len(connection.fetch(uids[start : start + BATCH]))
    return Timed(time.perf_counter() - wall, time.process_time() - cpu), fetched


async def ingest(db: Any, mailbox_ids: list[uuid.UUID]) -> tuple[Timed, int]:
    from leadflood.inbox import process, sync

    wall, cpu = time.perf_counter(), time.process_time()
    stored = 0
    for mailbox_id in mailbox_ids:
        report = await sync.sync_mailbox(
            db, mailbox_id, ingest=process.ingest_imap, prepare=process.understand_mail
        )
        if not report.ok:
            raise SystemExit(f"sync failed: {[f.error for f in report.folders]}")
        stored += len(report.stored)
    return Timed(time.perf_counter() - wall, time.process_time() - cpu), stored


async def outcome(db: Any, ws: uuid.UUID) -> dict[str, int]:
    from sqlalchemy import func, select

    from leadflood.models import Enrollment

    async with db.sessions() as session:
        rows = await session.execute(
            select(Enrollment.state, func.count())
            .where(Enrollment.workspace_id == ws)
            .group_by(Enrollment.state)
        )
        return {str(state): count for state, count in rows}


async def idle_latency(
    runtime: Any, dovecot: DovecotServer, user: str, samples: list[tuple[str, str, str, uuid.UUID]]
) -> list[float]:
    from leadflood import worker
    from leadflood.inbox import idle
    from leadflood.models import Enrollment, EnrollmentState

    watching = asyncio.create_task(idle.run(runtime, refresh=0.5))
    working = asyncio.create_task(worker.run(runtime, concurrency=2, install_signal_handlers=False))
    took: list[float] = []
    try:
        await asyncio.sleep(3)  # the watchers connect and sync what was there
        for email, message_id, address, enrollment_id in samples:
            raw = answer(message_id, email, address, "interested", datetime.now(UTC))
            await asyncio.to_thread(dovecot.append, user, "INBOX", raw)
            appended = time.perf_counter()
            while True:
                async with runtime.db.sessions() as session:
                    state = await session.scalar(
                        Enrollment.__table__.select()
                        .with_only_columns(Enrollment.state)
                        .where(Enrollment.id == enrollment_id)
                    )
                if state == EnrollmentState.stopped:
                    took.append(time.perf_counter() - appended)
                    break
                if time.perf_counter() - appended > 60:
                    raise SystemExit("a reply was not processed within 60 s")
                await asyncio.sleep(0.05)
    finally:
        for task in (watching, working):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return took


async def measured(
    url: str, data_dir: Path, dovecot: DovecotServer, args: argparse.Namespace
) -> dict[str, Any]:
    from leadflood.db.engine import connect
    from leadflood.runtime import Runtime
    from leadflood.settings import load_settings

    settings = load_settings(data_dir=data_dir, database_url=url, log_level="error")
    runtime = Runtime(settings, connect(settings, url=url))
    try:
        started = time.perf_counter()
        ws, boxes, idle = await setup(
            runtime.db, dovecot, args.mailboxes, args.messages, args.idle_samples
        )
        setup_s = time.perf_counter() - started
        users = [user for _, user in boxes]
        bare, fetched = await asyncio.to_thread(bare_fetch, dovecot, users)
        real, stored = await ingest(runtime.db, [box_id for box_id, _ in boxes])
        states = await outcome(runtime.db, ws)
        latencies = await idle_latency(runtime, dovecot, users[0], idle)
    finally:
        await runtime.aclose()
    return {
        "setup": setup_s,
        "bare": bare,
        "fetched": fetched,
        "real": real,
        "stored": stored,
        "states": states,
        "idle": latencies,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--mailboxes", type=int, default=50)
    parser.add_argument("--idle-samples", type=int, default=20)
    args = parser.parse_args()

    from leadflood.db import embedded, migrate
    from leadflood.logging import configure_logging

    configure_logging("error", "console")  # the worker's and the sync's lines would drown it
    work = Path(tempfile.mkdtemp(prefix="lf-bench-inbound-"))
    os.chmod(work, 0o755)  # the embedded server and Dovecot's mail processes run as others
    url = os.environ.get("DATABASE_URL")
    if not url:
        _, url = embedded.start(work / "data")
    migrate.upgrade(url)
    out = sys.stdout.write
    load_before = os.getloadavg()[0]
    try:
        with DovecotServer(work / "dovecot") as dovecot:
            figures = asyncio.run(measured(url, work / "data", dovecot, args))
    finally:
        shutil.rmtree(work / "dovecot", ignore_errors=True)
    n = args.messages
    bare, real = figures["bare"], figures["real"]
    if figures["fetched"] != n or figures["stored"] != n:
        raise SystemExit(f"fetched {figures['fetched']}, stored {figures['stored']} of {n}")
    load_after = os.getloadavg()[0]
    out(f"messages     : {n:,} in {args.mailboxes} mailboxes (setup {figures['setup']:.1f}s)\n")
    out(
        f"load average : {load_before:.2f} before, {load_after:.2f} after, {os.cpu_count()} cores\n"
    )
    for name, t in (("bare fetch", bare), ("ingest", real)):
        out(
            f"{name:<13}: {t.wall:7.2f}s  {n / t.wall:>7,.0f} msg/s  ratio {bare.wall / t.wall:.3f}"
            f"  cpu {1000 * t.cpu / n:.2f} ms/msg\n"
        )
    out(f"enrollments  : {figures['states']}\n")
    out(f"ingest / bare: {bare.wall / real.wall:.3f}  (target >= 0.5)\n")
    latencies = sorted(figures["idle"])
    if latencies:
        p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
        out(
            f"IDLE, APPEND -> enrollment stopped, {len(latencies)} samples: "
            f"p50 {statistics.median(latencies):.2f}s  p95 {p95:.2f}s  max {latencies[-1]:.2f}s"
            "  (target p95 <= 5 s)\n"
        )


if __name__ == "__main__":
    main()

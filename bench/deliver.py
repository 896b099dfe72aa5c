"""Delivery and the full sending pipeline against a bare aiosmtplib loop, into the same local
aiosmtpd sink, in one run.

  1. baseline: one aiosmtplib connection sending N pre-built messages (the same MIME the engine
     builds, unsubscribe headers included) back to back: the physical floor of this sink;
  2. delivery: the engine (`sending.delivery.deliver_mailbox`, what the `sending.deliver_mailbox`
     job runs) draining N queued messages of one mailbox (no gap, cap >= N): claims with SKIP
     LOCKED and every re-check (enrollment, suppression, cap, gap, unsubscribe headers), marks
     each message started (committed) just before its own attempt, sends over
     SENDING_CONNECTIONS reused connections (2 by default), records every outcome and attempt
     row;
  3. pipeline: N due enrollments of a one-step sequence through the scheduler
     (`sequences.scheduler.tick`, what the `sequences.tick` job runs: claim, stop checks,
     suppression, window, mailbox rotation, template rendering, unsubscribe token, message
     insert) and the delivery engine, both running at once in this process as one worker would
     run the two jobs, until all N are sent.
Baseline and delivery alternate `--rounds` times (the machine is shared: a burst of load hits
both alike); prints every round, the best of each, the ratios to the best baseline (target >= 0.8
for delivery), and the CPU time of this process per message. The sink runs in its own process,
as a real SMTP server does (`--sink-in-process`: in a thread of this one, sharing its
interpreter, so its CPU is in every figure).

    python bench/deliver.py [--messages 10000] [--batch 50] [--rounds 3] [--skip-pipeline]

Uses DATABASE_URL when set, else an embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosmtplib
from aiosmtpd.controller import Controller

SUBJECT = "Quick question about your outbound"
BODY = "Hi Ada,\n\nWould a 15-minute call next week make sense?\n\nSam\n"
POSTAL = "Acme Ltd, 1 Harbour Street, Bristol BS1 4AA, UK"
FROM = "sam@sender.example"


class Sink:
    """Counts what arrives; parses nothing (the sink must not be the bottleneck we measure)."""

    def __init__(self, count: Any) -> None:
        self.count = count  # a multiprocessing.Value: read by the measuring process

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.count.get_lock():
            self.count.value += 1
        return "250 OK"


def serve_sink(port: int, count: Any, ready: Any, stop: Any) -> None:
    controller = Controller(Sink(count), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


class SinkServer:
    """The SMTP sink in its own process (as a real server is: its work overlaps the sender's
    instead of sharing its interpreter), or with `in_process` in a thread of this one."""

    def __init__(self, port: int, *, in_process: bool) -> None:
        context = multiprocessing.get_context("spawn")
        self.count = context.Value("q", 0)
        self._ready, self._stop = context.Event(), context.Event()
        self._controller: Controller | None = None
        self._process: Any = None
        if in_process:
            self._controller = Controller(Sink(self.count), hostname="127.0.0.1", port=port)
            self._controller.start()
        else:
            self._process = context.Process(
                target=serve_sink, args=(port, self.count, self._ready, self._stop), daemon=True
            )
            self._process.start()
            if not self._ready.wait(30):
                raise SystemExit("the SMTP sink did not start")

    def close(self) -> None:
        if self._controller is not None:
            self._controller.stop()
        if self._process is not None:
            self._stop.set()
            self._process.join(10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def outbound(i: int, settings: Any) -> Any:
    from leadflood.providers.base import OutboundEmail
    from leadflood.sending.channels.email import new_message_id
    from leadflood.suppressions import unsubscribe

    token = uuid.uuid4().hex
    text, _ = unsubscribe.footer(settings, token, POSTAL)
    return OutboundEmail(
        message_id=new_message_id("sender.example"),
        from_email=FROM,
        from_name="Sam Sender",
        to=[f"lead{i}@example.com"],
        subject=SUBJECT,
        text=BODY + text,
        headers=unsubscribe.headers(settings, token, mailto=FROM),
    )


class Timed:
    def __init__(self, wall: float, cpu: float) -> None:
        self.wall, self.cpu = wall, cpu


async def timed(work: Callable[[], Awaitable[None]]) -> Timed:
    wall, cpu = time.perf_counter(), time.process_time()
    await work()
    return Timed(time.perf_counter() - wall, time.process_time() - cpu)


async def baseline(port: int, n: int, settings: Any) -> Timed:
    from leadflood.providers.email.mime import render_bytes

    prebuilt = [render_bytes(outbound(i, settings)) for i in range(n)]
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, local_hostname="bench.test")

    async def send_all() -> None:
        await smtp.connect()
        for i, data in enumerate(prebuilt):
            await smtp.sendmail(FROM, [f"lead{i}@example.com"], data)
        await smtp.quit()

    return await timed(send_all)


async def _mailbox(session: Any, workspace_id: uuid.UUID, port: int, n: int) -> Any:
    from leadflood.models import Mailbox

    mailbox = Mailbox(
        workspace_id=workspace_id,
        name="Bench",
        provider="smtp",
        from_name="Sam Sender",
        from_email=FROM,
        config={"host": "127.0.0.1", "port": port, "tls_mode": "none"},
        window={},
        dns_checks={},
        signature="",
        daily_cap=2 * n,
        min_gap_seconds=0,
        jitter_seconds=0,
    )
    session.add(mailbox)
    await session.flush()
    return mailbox


async def _count_sent(db: Any, mailbox_id: uuid.UUID) -> int:
    from sqlalchemy import func, select

    from leadflood.models import Message, MessageStatus

    async with db.session() as session:
        sent = await session.scalar(
            select(func.count()).where(
                Message.mailbox_id == mailbox_id, Message.status == MessageStatus.sent
            )
        )
    return int(sent or 0)


async def engine(db: Any, settings: Any, port: int, n: int) -> Timed:
    from sqlalchemy import insert

    from leadflood.auth import service as accounts
    from leadflood.models import Message, MessageStatus
    from leadflood.sending import delivery

    async with db.session() as session:
        workspace = await accounts.create_workspace(session, name=f"Bench {uuid.uuid4().hex[:6]}")
        mailbox = await _mailbox(session, workspace.id, port, n)
        now = datetime.now(UTC)
        rows = []
        for i in range(n):
            email = outbound(i, settings)
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "workspace_id": workspace.id,
                    "mailbox_id": mailbox.id,
                    "to_address": email.to[0],
                    "from_address": email.from_email,
                    "subject": email.subject,
                    "body_text": email.text,
                    "headers": email.headers,
                    "message_id": email.message_id,
                    "send_after": now,
                    "status": MessageStatus.queued,
                    "channel": "email",
                    "direction": "outbound",
                    "attempts": 0,
                }
            )
        for start in range(0, n, 2000):
            await session.execute(insert(Message), rows[start : start + 2000])

    async def drain() -> None:
        while True:
            report = await delivery.deliver_mailbox(
                db, settings, mailbox.id, budget=timedelta(hours=1)
            )
            if not report.claimed:
                break

    result = await timed(drain)
    sent = await _count_sent(db, mailbox.id)
    if sent != n:
        raise SystemExit(f"delivery: only {sent} of {n} messages were sent")
    return result


async def pipeline(db: Any, settings: Any, port: int, n: int) -> tuple[Timed, float]:
    """Returns the whole run and the time spent inside scheduler ticks."""
    from sqlalchemy import insert

    from leadflood.auth import service as accounts
    from leadflood.models import Lead, SequenceState, VerificationStatus
    from leadflood.sending import delivery
    from leadflood.sequences import enrollment, scheduler, steps
    from leadflood.sequences import service as sequences
    from leadflood.sequences.schemas import (
        EnrollRequest,
        SequenceCreate,
        StepCreate,
        VariantIn,
        WindowIn,
    )

    async with db.session() as session:
        workspace = await accounts.create_workspace(session, name=f"Bench {uuid.uuid4().hex[:6]}")
        ws = workspace.id
        mailbox = await _mailbox(session, ws, port, n)
        sequence = await sequences.create(
            session,
            ws,
            SequenceCreate(
                name="Bench",
                timezone="UTC",
                window=WindowIn(days=[0, 1, 2, 3, 4, 5, 6], start="00:00", end="23:59:59"),
                postal_address=POSTAL,
                mailbox_ids=[mailbox.id],
            ),
        )
        await steps.add(
            session,
            ws,
            sequence.id,
            StepCreate(
                delay_amount=0,
                delay_unit="hours",
                variants=[VariantIn(subject=SUBJECT, body=BODY.replace("Ada", "{{ first_name }}"))],
            ),
        )
        await sequences.transition(
            session, ws, sequence.id, SequenceState.active, now=datetime.now(UTC)
        )
        lead_ids = [uuid.uuid4() for _ in range(n)]
        rows = [
            {
                "id": lead_id,
                "workspace_id": ws,
                "email": f"lead{i}@example.com",
                "first_name": "Ada",
                "verification_status": VerificationStatus.valid,
            }
            for i, lead_id in enumerate(lead_ids)
        ]
        for start in range(0, n, 2000):
            await session.execute(insert(Lead), rows[start : start + 2000])
        result = await enrollment.enroll(
            session, ws, sequence.id, EnrollRequest(lead_ids=lead_ids), now=datetime.now(UTC)
        )
        if result.enrolled != n:
            raise SystemExit(f"pipeline: enrolled {result.enrolled} of {n}")

    ticking = 0.0
    scheduled = asyncio.Event()

    async def schedule() -> None:
        nonlocal ticking
        while True:
            started = time.perf_counter()
            async with db.session() as session:
                tick = await scheduler.tick(session, settings, batch=settings.scheduler_batch_size)
            ticking += time.perf_counter() - started
            if tick.claimed == 0:
                scheduled.set()
                return
            await asyncio.sleep(0)  # let the delivery job in between ticks

    async def deliver() -> None:
        while True:
            report = await delivery.deliver_mailbox(
                db, settings, mailbox.id, budget=timedelta(hours=1)
            )
            if not report.claimed:
                if scheduled.is_set():
                    return
                await asyncio.sleep(0.05)  # what the next dispatch would find

    async def both() -> None:
        await asyncio.gather(schedule(), deliver())

    run = await timed(both)
    sent = await _count_sent(db, mailbox.id)
    if sent != n:
        raise SystemExit(f"pipeline: only {sent} of {n} messages were sent")
    return run, ticking


async def measured(
    url: str, data_dir: Path, port: int, n: int, batch: int, rounds: int, full: bool
) -> tuple[list[Timed], list[Timed], tuple[Timed, float] | None]:
    """Baseline and delivery alternate, `rounds` times each, so a burst of load from another
    process on this shared machine hits both alike; the pipeline runs once at the end."""
    from leadflood.db.engine import connect
    from leadflood.settings import load_settings

    settings = load_settings(
        data_dir=data_dir, database_url=url, log_level="error", sending_batch_size=batch
    )
    db = connect(settings, url=url)
    bare: list[Timed] = []
    real: list[Timed] = []
    try:
        for _ in range(rounds):
            bare.append(await baseline(port, n, settings))
            real.append(await engine(db, settings, port, n))
        whole = await pipeline(db, settings, port, n) if full else None
    finally:
        await db.dispose()
    return bare, real, whole


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-pipeline", action="store_true")
    parser.add_argument(
        "--sink-in-process",
        action="store_true",
        help="run the sink in a thread of this process instead of its own process",
    )
    args = parser.parse_args()

    from leadflood.db import embedded, migrate

    work = Path(tempfile.mkdtemp(prefix="lf-bench-deliver-"))
    os.chmod(work, 0o755)  # the embedded server runs as its own system user
    url = os.environ.get("DATABASE_URL")
    if not url:
        _, url = embedded.start(work / "data")
    migrate.upgrade(url)
    port = free_port()
    sink = SinkServer(port, in_process=args.sink_in_process)
    out = sys.stdout.write
    n = args.messages
    load_before = os.getloadavg()[0]
    try:
        bares, reals, whole = asyncio.run(
            measured(url, work / "data", port, n, args.batch, args.rounds, not args.skip_pipeline)
        )
    finally:
        sink.close()
    bare = min(bares, key=lambda t: t.wall)
    real = min(reals, key=lambda t: t.wall)

    def line(name: str, t: Timed) -> None:
        out(
            f"{name:<13}: {t.wall:7.2f}s  {n / t.wall:>7,.0f} msg/s  ratio {bare.wall / t.wall:.3f}"
            f"  cpu {1000 * t.cpu / n:.2f} ms/msg\n"
        )

    def rates(runs: list[Timed]) -> str:
        return ", ".join(f"{n / t.wall:,.0f}" for t in runs)

    where = "a thread of this process" if args.sink_in_process else "its own process"
    out(
        f"messages     : {n:,} (SENDING_BATCH_SIZE {args.batch}), sink received "
        f"{sink.count.value:,} in {where}\n"
    )
    load_after = os.getloadavg()[0]
    out(
        f"load average : {load_before:.2f} before, {load_after:.2f} after, {os.cpu_count()} cores\n"
    )
    out(f"rounds       : bare {rates(bares)} msg/s; delivery {rates(reals)} msg/s\n")
    out("best of each:\n")
    line("bare loop", bare)
    line("delivery", real)
    if whole is not None:
        run, ticking = whole
        line("pipeline", run)
        out(f"  of which scheduler ticks: {ticking:.2f}s ({n / ticking:,.0f} enrollments/s)\n")
    ratios = sorted(b.wall / r.wall for b, r in zip(bares, reals, strict=True))
    out(f"delivery / bare: best-of {bare.wall / real.wall:.3f}, per round ")
    out(", ".join(f"{r:.3f}" for r in ratios))
    out(f" (median {statistics.median(ratios):.3f})  (target >= 0.8)\n")


if __name__ == "__main__":
    main()

"""Scale out on one PostgreSQL, proven: two `leadflood serve` and three `leadflood worker`
processes against an external PostgreSQL server (Debian's, started for the test). Sends,
imports and searches asked of either API process are done by the workers between them, each
exactly once: every message reaches the SMTP server once, every import and search run finishes
once, and the work is spread over more than one worker."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from leadflood.db import migrate
from leadflood.db.engine import connect
from leadflood.models import ImportState, Lead, LeadImport, Message, MessageStatus, SearchRun
from leadflood.runtime import Runtime
from leadflood.sending.channels import Outbound
from leadflood.sending.service import Queue, kick
from leadflood.settings import Settings
from tests.factories import make_mailbox
from tests.support.accounts import make_account
from tests.support.icps import make_icp
from tests.support.postgres import DebianPostgres
from tests.support.processes import leadflood_env, start, stop, wait_for
from tests.support.smtp_server import SmtpTestServer, free_port

pytestmark = pytest.mark.slow
MAILBOXES = 6
PER_MAILBOX = 60
IMPORTS = 4
ROWS = 150
SEARCHES = 4


def _csv(n: int) -> bytes:
    lines = ["email,first_name,last_name,company"]
    lines += [f"p{n}-{i}@scale{n}.example,Pat{i},Lee,Scale {n}" for i in range(ROWS)]
    return ("\n".join(lines) + "\n").encode()


def _completed(log: Path) -> Counter[str]:
    """Jobs a worker completed, by task, from its own log."""
    done: Counter[str] = Counter()
    for line in log.read_text().splitlines():
        if '"job.completed"' in line:
            done[json.loads(line).get("task", "?")] += 1
    return done


async def test_two_api_and_three_worker_processes_share_the_work_once(
    tmp_path: Path, settings: Settings
) -> None:
    pg = DebianPostgres()
    servers: list[subprocess.Popen[bytes]] = []
    workers: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        migrate.upgrade(pg.url)
        runtime = Runtime(settings, connect(settings, url=pg.url))
        with SmtpTestServer() as smtp:
            try:
                owner = await make_account(runtime, workspace="Scale")
                async with runtime.db.session() as session:
                    boxes = [
                        await make_mailbox(
                            session, owner.workspace_id, from_email=f"sam{i}@sender.example",
                            daily_cap=10_000, config=smtp.config(),
                        )
                        for i in range(MAILBOXES)
                    ]  # fmt: skip
                    batch = Queue(session, runtime.settings)
                    for box in boxes:
                        for i in range(PER_MAILBOX):
                            batch.add(
                                Outbound(
                                    workspace_id=owner.workspace_id, mailbox=box,
                                    to=f"r{i}-{box.id.hex[:6]}@recipient.example",
                                    send_after=datetime.now(UTC), subject="Hello",
                                    body_text="Hi", postal_address="1 Main St",
                                )
                            )  # fmt: skip
                    await batch.flush()
                    for box in boxes:
                        await kick(session, box.id)
                icps = [await make_icp(runtime, owner.workspace_id, name=f"ICP {n}")
                        for n in range(SEARCHES)]  # fmt: skip

                # Heartbeats as a deployment would have them (the drills' 2 s stall limit would
                # call a worker busy on a loaded machine dead, and run its job again).
                env = leadflood_env(
                    pg.url, tmp_path / "data", LOG_LEVEL="info",
                    WORKER_HEARTBEAT_SECONDS="2", STALLED_JOB_SECONDS="30",
                )  # fmt: skip
                ports = [free_port(), free_port()]
                for n, port in enumerate(ports):
                    log = tmp_path / f"serve{n}.log"
                    servers.append(start(["serve", "--port", str(port)], env, log))
                for n in range(3):
                    log = tmp_path / f"worker{n}.log"
                    workers.append((start(["worker", "--concurrency", "2"], env, log), log))

                bases = [f"http://127.0.0.1:{port}" for port in ports]

                async def both_up() -> bool:
                    try:
                        async with httpx.AsyncClient() as client:
                            codes = [(await client.get(f"{b}/health")).status_code for b in bases]
                            return codes == [200, 200]
                    except httpx.HTTPError:
                        return False

                await wait_for(both_up, timeout=60, what="both API processes", interval=0.3)
                imports: list[str] = []
                runs: list[str] = []
                async with httpx.AsyncClient(headers=owner.headers, timeout=30) as client:
                    for n in range(IMPORTS):
                        base = bases[n % 2]
                        made = await client.post(
                            f"{base}/v1/imports",
                            files={"file": (f"scale{n}.csv", _csv(n), "text/csv")},
                            headers={"Idempotency-Key": str(uuid.uuid4())},
                        )
                        assert made.status_code == 201, made.text
                        import_id = made.json()["id"]
                        started = await client.post(f"{base}/v1/imports/{import_id}/start")
                        assert started.status_code == 202, started.text
                        imports.append(import_id)
                    for n, icp in enumerate(icps):
                        base = bases[n % 2]
                        asked = await client.post(
                            f"{base}/v1/icps/{icp.id}/search",
                            json={"source": "sandbox", "max_results": 40},
                        )
                        assert asked.status_code == 202, asked.text
                        runs.append(asked.json()["run_id"])

                async def all_done() -> bool:
                    async with runtime.db.session() as session:
                        unsent = await session.scalar(
                            select(func.count()).where(Message.status != MessageStatus.sent)
                        )
                        imported = await session.scalar(
                            select(func.count()).where(LeadImport.state == ImportState.completed)
                        )
                        searched = await session.scalar(
                            select(func.count()).where(SearchRun.state == "completed")
                        )
                    return (unsent, imported, searched) == (0, IMPORTS, SEARCHES)

                await wait_for(all_done, timeout=300, what="all the work", interval=0.5)
                received = Counter(str(m.message["Message-ID"]) for m in smtp.messages)
                async with runtime.db.session() as session:
                    imported_leads = await session.scalar(
                        select(func.count()).where(Lead.email.like("p%@scale%.example"))
                    )
            finally:
                await runtime.aclose()
    finally:
        for process in servers:
            stop(process)
        for process, _ in workers:
            stop(process)
        pg.close()

    assert len(received) == MAILBOXES * PER_MAILBOX, "lost messages"
    assert max(received.values()) == 1, "a message was sent twice"
    assert imported_leads == IMPORTS * ROWS
    done = [_completed(log) for _, log in workers]
    totals: Counter[str] = sum(done, Counter())
    assert totals["leads.import"] == IMPORTS, totals
    assert totals["leads.search_run"] == SEARCHES, totals
    busy = [
        d
        for d in done
        if d["sending.deliver_mailbox"] or d["leads.import"] or d["leads.search_run"]
    ]
    assert len(busy) >= 2, f"the work was not spread: {done}"

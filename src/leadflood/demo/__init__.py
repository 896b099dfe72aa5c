"""`leadflood up --demo`: everything a first visit needs, behind one entry point. A demo
workspace and a user to sign in with (`account.py`), a local SMTP catcher in this process that
keeps every message it receives (`catcher.py`), the demo mailbox pointing at it, and a ready
three-step sequence (`sequence.py`), and its first leads found in the sandbox for a demo ICP
(`leads.py`). The sandbox's simulated recipients answer what the demo
mailbox sends them (`answers.py`, run by the `demo.sandbox_answers` periodic job).
Idempotent: running it again finds what the first run made."""

from __future__ import annotations

from dataclasses import dataclass

from leadflood.console import console, run
from leadflood.demo import account
from leadflood.demo.catcher import DemoSmtpCatcher, ensure_demo_mailbox
from leadflood.demo.leads import DEMO_ICP, ensure_demo_leads
from leadflood.demo.sequence import ensure_demo_sequence
from leadflood.runtime import Runtime
from leadflood.sending import catcher_store


@dataclass
class Demo:
    account: account.DemoAccount
    catcher: DemoSmtpCatcher

    def stop(self) -> None:
        self.catcher.stop()


def start(runtime: Runtime, url: str) -> Demo:
    """Seed the demo and start its catcher; the caller calls `stop()` when the server stops."""
    catcher = DemoSmtpCatcher(catcher_store.demo_inbox(runtime.settings))
    catcher.start()

    async def seed() -> tuple[account.DemoAccount, str]:
        async with runtime.db.session() as session:
            seeded = await account.seed(session)
            workspace_id = seeded.workspace.id
            mailbox = await ensure_demo_mailbox(
                session, workspace_id, catcher.port, catcher.directory
            )
            sequence = await ensure_demo_sequence(session, workspace_id, mailbox.id)
            await ensure_demo_leads(session, runtime.providers, workspace_id)
            return seeded, sequence.name

    try:
        seeded, name = run(seed)
    except BaseException:
        catcher.stop()
        raise
    console.print(
        f"Demo workspace [bold]{seeded.workspace.name}[/bold]: sign in at {url}/login as "
        f"[bold]{seeded.email}[/bold] with password [bold]{seeded.password}[/bold]"
        + ("" if seeded.created else " (unless you changed it)")
    )
    console.print(
        f"Demo SMTP catcher on 127.0.0.1:{catcher.port}: the demo mailbox sends there and the "
        f"Outbox shows what left. Ready sequence: [bold]{name}[/bold] (draft); leads found for "
        f"the ICP [bold]{DEMO_ICP}[/bold]. Sandbox leads "
        f"answer about {runtime.settings.sandbox_answer_delay_seconds:.0f} s after each send "
        "(replies, out-of-office notices, bounces) and their answers reach the Inbox."
    )
    return Demo(seeded, catcher)

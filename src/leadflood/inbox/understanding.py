"""Understanding inbound mail, the CPU half of its processing: parse it, classify it by the
rules, and read the facts the threading needs. A batch is shared out to a pool of processes
(one per core, started on first use) so the parsing of a batch takes the machine's cores
rather than one; small batches, one-core machines and a pool that broke are understood here,
in this process, with the same result."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime, timezone

from leadflood.inbox import rules, threading
from leadflood.logging import get_logger

log = get_logger("leadflood.inbox")
CLASSIFIER: rules.Classifier = rules.RulesClassifier()
# Below this many messages a batch is understood in this process (sending it costs more).
PARALLEL_FROM = 16
WORKERS = min(os.cpu_count() or 1, 4)
_pool: ProcessPoolExecutor | None = None


@dataclass(frozen=True)
class Understood:
    # None for a provider's delivery event: no mail, its `summary` stands for the text.
    parsed: rules.Message | None
    result: rules.Classification
    facts: threading.Facts
    summary: str | None = None


def understand(raw: bytes, received_at: datetime) -> Understood:
    parsed = rules.parse(raw, received=received_at.date())
    result = CLASSIFIER.classify(parsed)
    referenced = [result.in_reply_to or "", *result.references, result.original_message_id or ""]
    facts = threading.Facts(
        sender=parsed.sender,
        subject=parsed.subject,
        message_id=parsed.header("Message-ID").strip() or None,
        referenced=tuple(r.strip() for r in referenced if r and r.strip()),
        provider_message_id=None,
        recipient=result.recipient if result.kind in ("bounce", "bounce_warning", "complaint")
        else None,
        received_at=received_at,
    )  # fmt: skip
    return Understood(parsed, result, facts)


def understand_each(mails: Sequence[tuple[bytes, datetime]]) -> list[Understood]:
    return [understand(raw, at) for raw, at in mails]


async def understand_all(
    mails: Sequence[tuple[bytes, datetime]], *, workers: int = WORKERS
) -> list[Understood]:
    """Each mail (raw, received at) understood, in order."""
    if (
        workers < 2
        or len(mails) < PARALLEL_FROM
        or not isinstance(CLASSIFIER, rules.RulesClassifier)
    ):
        return understand_each(mails)
    size = -(-len(mails) // workers)
    portable = [(raw, _portable(at)) for raw, at in mails]
    chunks = [portable[i : i + size] for i in range(0, len(portable), size)]
    loop = asyncio.get_running_loop()
    try:
        pool = _shared_pool(workers)
        parts = await asyncio.gather(
            *(loop.run_in_executor(pool, understand_each, chunk) for chunk in chunks)
        )
    except BrokenProcessPool:
        log.warning("inbox.understanding_pool_broken")
        _reset()
        return understand_each(mails)
    return [u for part in parts for u in part]


def _portable(at: datetime) -> datetime:
    """The same moment with the same offset, in a time zone that pickles (IMAP clients give
    their own tzinfo classes, which may not)."""
    offset = at.utcoffset()
    return at if offset is None else at.replace(tzinfo=timezone(offset))


def _shared_pool(workers: int) -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        # forkserver: the workers do not inherit this process's threads, loop or connections.
        context = multiprocessing.get_context("forkserver")
        _pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    return _pool


def _reset() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
    _pool = None

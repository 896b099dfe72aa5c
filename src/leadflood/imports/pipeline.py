"""Running an import: stream the file, validate chunks in parallel, write each chunk with COPY and
set-based statements, and commit it together with the counts.

Resumable by design: one transaction per chunk holds its leads, its rejected rows and the
advance of `rows_read`, the cursor. A run that dies loses at most the chunk in flight; the next
run skips the first `rows_read` records (re-validating them only to remember which people the
file already had) and goes on. A second runner racing on the same import cannot advance the
cursor twice: the update is guarded by the cursor it read.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from itertools import islice
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import events, jobs
from leadflood.db.engine import Database, when_transaction_ends
from leadflood.errors import AppError
from leadflood.icps.service import RESCORE_BEST_FIT_TASK, RESCORE_TASK
from leadflood.imports.csv_reader import RawRecord, open_csv
from leadflood.imports.sql import ChunkCounts
from leadflood.imports.validation_worker import ChunkResult, validate_chunk
from leadflood.imports.writer import ChunkWriter, ImportRaced
from leadflood.logging import get_logger
from leadflood.models import ImportState, LeadImport, Workspace
from leadflood.settings import Settings

log = get_logger("leadflood.imports")
# Below this size a file is validated in the importing process: starting worker processes
# costs more than it saves.
PARALLEL_MIN_BYTES = 4 * 1024 * 1024

ProgressHook = Callable[[LeadImport], Awaitable[None] | None]


def auto_workers() -> int:
    """Validation processes when IMPORT_WORKERS is 0: half the cores, the other half being the
    database's, whose writes cost ~3x more per row than validating it. On 2 cores that is one,
    which validates in a thread of this process: measured faster than two processes there,
    and ~200 MB lighter (docs/performance.md, "CSV import")."""
    return max(1, (os.cpu_count() or 1) // 2)


def resolve_path(settings: Settings, imp: LeadImport) -> Path:
    return settings.data_dir / imp.stored_path


def _executor(workers: int, size: int, parallel: bool | None) -> Executor:
    if parallel is None:
        parallel = size >= PARALLEL_MIN_BYTES
    if workers <= 1 or not parallel:
        # A thread, not the event loop: the API and other jobs may share this process.
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="lead-import")
    # forkserver: children start from a clean process, never a fork of this one's threads.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["leadflood.imports.validation"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


def _chunks(rows: Iterator[RawRecord], size: int, cursor: int) -> Iterator[list[RawRecord]]:
    """Batches of `size` rows, except that none straddles the resume cursor."""
    before = cursor
    while batch := list(islice(rows, min(size, before) if before > 0 else size)):
        before -= len(batch)
        yield batch


async def _feed(
    chunks: Iterator[list[RawRecord]],
    queue: asyncio.Queue[asyncio.Future[ChunkResult] | None],
    submit: Callable[[list[RawRecord]], asyncio.Future[ChunkResult]],
) -> None:
    """Reads and submits chunks while earlier ones are validated and written; the queue keeps
    them in file order and bounds how many are in memory."""
    try:
        while (batch := await asyncio.to_thread(next, chunks, None)) is not None:
            await queue.put(submit(batch))
    except Exception as exc:  # handed to the writer, which raises it in order
        failed: asyncio.Future[ChunkResult] = asyncio.get_running_loop().create_future()
        failed.set_exception(exc)
        await queue.put(failed)
    else:
        await queue.put(None)


async def run(
    db: Database,
    settings: Settings,
    import_id: uuid.UUID,
    *,
    on_progress: ProgressHook | None = None,
    workers: int | None = None,
    chunk_rows: int | None = None,
    parallel: bool | None = None,
) -> LeadImport:
    """Runs (or resumes) the import to its end. A file that cannot be read fails the import at
    once; a database or system error propagates so that the job is retried, and resumes."""
    async with db.session() as session:
        imp = await session.get(LeadImport, import_id, with_for_update=True)
        if imp is None or imp.state in (ImportState.completed, ImportState.failed):
            if imp is None:
                raise LookupError(f"no import {import_id}")
            return imp
        imp.state = ImportState.running
        imp.started_at = imp.started_at or datetime.now(UTC)
        imp.error = None
        default_country: str | None = await session.scalar(
            select(Workspace.default_country).where(Workspace.id == imp.workspace_id)
        )
    try:
        await _stream(
            db,
            imp,
            resolve_path(settings, imp),
            default_country=default_country,
            on_progress=on_progress,
            workers=workers if workers is not None else settings.import_workers or auto_workers(),
            chunk_rows=chunk_rows or settings.import_chunk_rows,
            parallel=parallel,
        )
    except ImportRaced:
        log.warning("import.raced", import_id=str(import_id))
    except AppError as exc:
        await fail(db, import_id, exc.message)
    except OSError:
        if not await asyncio.to_thread(resolve_path(settings, imp).exists):
            await fail(db, import_id, "The uploaded file is gone; upload it again.")
        else:
            raise
    async with db.session() as session:
        final = await session.get(LeadImport, import_id)
        assert final is not None
        return final


async def fail(db: Database, import_id: uuid.UUID, error: str) -> None:
    async with db.session() as session:
        await fail_in(session, import_id, error)


async def fail_in(session: AsyncSession, import_id: uuid.UUID, error: str) -> None:
    """Marks the import failed; what its committed chunks created stays, and is counted. Its
    uploaded copy is removed once that is committed: a failed import cannot be resumed."""
    stored = await session.scalar(
        update(LeadImport)
        .where(LeadImport.id == import_id, LeadImport.state != ImportState.completed)
        .values(state=ImportState.failed, error=error[:2000], finished_at=datetime.now(UTC))
        .returning(LeadImport.stored_path)
    )
    if stored is not None:
        settings: Settings = session.info["settings"]
        when_transaction_ends(session, committed=partial(discard_upload, settings, stored))


def discard_upload(settings: Settings, stored_path: str) -> None:
    """Removes an uploaded copy (stored under the data directory, by a relative path). A file
    the CLI imported where it lies (an absolute path) is the user's own and stays."""
    if Path(stored_path).is_absolute():
        return
    try:
        (settings.data_dir / stored_path).unlink(missing_ok=True)
    except OSError as exc:
        log.warning("import.upload_not_removed", path=stored_path, error=str(exc))


async def _stream(
    db: Database,
    imp: LeadImport,
    path: Path,
    *,
    default_country: str | None,
    on_progress: ProgressHook | None,
    workers: int,
    chunk_rows: int,
    parallel: bool | None,
) -> None:
    source = await asyncio.to_thread(open_csv, path)
    mapping: dict[str, str | None] = dict(imp.mapping)
    cursor = imp.rows_read
    seen: set[int] = set()
    loop = asyncio.get_running_loop()
    executor = _executor(workers, imp.size_bytes, parallel)
    chunks = _chunks(source.records(), chunk_rows, cursor)
    validate = partial(
        validate_chunk,
        headers=source.headers,
        mapping=mapping,
        import_id=str(imp.id),
        default_region=default_country,
    )
    queue: asyncio.Queue[asyncio.Future[ChunkResult] | None] = asyncio.Queue(
        maxsize=max(2, workers + 1)
    )
    feeder = asyncio.create_task(
        _feed(chunks, queue, lambda batch: loop.run_in_executor(executor, validate, batch))
    )
    writer = ChunkWriter(
        db,
        import_id=imp.id,
        workspace_id=imp.workspace_id,
        on_duplicate=imp.on_duplicate.value,
        cursor=cursor,
        list_id=imp.list_id,
        icp_id=imp.icp_id,
    )
    try:
        while (future := await queue.get()) is not None:
            result = await future
            duplicates = _first_seen(result, seen)
            if result.last_number <= cursor:
                continue  # replayed to rebuild `seen`: already written and counted
            await _count(imp, result, await writer.write(result, duplicates), on_progress)
    finally:
        feeder.cancel()
        while not queue.empty():
            if (queued := queue.get_nowait()) is not None:
                queued.cancel()
        executor.shutdown(wait=False, cancel_futures=True)
    async with db.session() as session:
        await session.execute(
            update(LeadImport)
            .where(LeadImport.id == imp.id)
            .values(state=ImportState.completed, finished_at=datetime.now(UTC))
        )
        if imp.icp_id is not None:  # the ICP chosen for the import: its leads are scored
            await jobs.defer(
                session, RESCORE_TASK, workspace_id=imp.workspace_id, subject_type="import",
                subject_id=imp.id, icp_id=str(imp.icp_id),
            )  # fmt: skip
        else:  # the imported leads have no ICP of their own: scored against the best fit
            await jobs.defer(
                session, RESCORE_BEST_FIT_TASK, workspace_id=imp.workspace_id,
                subject_type="import", subject_id=imp.id, workspace=str(imp.workspace_id),
            )  # fmt: skip
        await events.emit(
            session, imp.workspace_id, events.IMPORT_FINISHED,
            {"import_id": imp.id, "file_name": imp.file_name, "state": "completed",
             "rows": imp.rows_read, "created": imp.created, "updated": imp.updated,
             "skipped": imp.skipped, "rejected": imp.rejected},
        )  # fmt: skip
    imp.state = ImportState.completed
    log.info(
        "import.completed",
        import_id=str(imp.id),
        rows=imp.rows_read,
        created=imp.created,
        updated=imp.updated,
        skipped=imp.skipped,
        rejected=imp.rejected,
        warned=imp.warned,
    )


def _first_seen(result: ChunkResult, seen: set[int]) -> list[int]:
    """Row numbers of people already met earlier in the file. 64-bit digests, not the keys, are
    remembered: a million people fit in ~60 MB, and a collision (odds ~1e-8 at that size) would
    only count one row as skipped."""
    duplicates = []
    for number, digest in zip(result.numbers, result.digests, strict=True):
        if digest in seen:
            duplicates.append(number)
        else:
            seen.add(digest)
    return duplicates


async def _count(
    imp: LeadImport, chunk: ChunkResult, counts: ChunkCounts, on_progress: ProgressHook | None
) -> None:
    """Mirrors a committed chunk's counts on `imp` and reports the progress."""
    imp.rows_read += chunk.rows
    imp.created += counts.created
    imp.updated += counts.updated
    imp.skipped += counts.skipped
    imp.rejected += chunk.rejected + counts.erased
    imp.warned += chunk.warned
    if on_progress is not None:
        outcome = on_progress(imp)
        if outcome is not None:
            await outcome

"""The delivery job's database writes, run in order on their own connection while the sends go
on, so the sender never waits for a commit it does not depend on.

Writes run in the order they were submitted. Two kinds: plain SQL statements (`Sql`: marking a
run started, recording a run of successes), of which those waiting together share one
transaction sent in one pipelined round trip on a connection the writer keeps for the job; and
session writes (a failure's record, going back to the queue), each in its own ORM session.
A caller that depends on a write (a run marked started before its first attempt, a failure
recorded before the next send) awaits it; a run of successes is submitted and the sends go on.
After a failed write every later one fails with the same error, and so does `close()`: the job
stops, and what it left `sending` is settled by the reconciler."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, LiteralString

from psycopg import AsyncConnection as RawConnection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from leadflood.db.engine import Database

SessionWrite = Callable[[AsyncSession], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Sql:
    query: LiteralString
    params: dict[str, Any]


Write = Sequence[Sql] | SessionWrite
_Item = tuple[Write, asyncio.Future[None] | None]


class WriteFailed(RuntimeError):
    pass


class Writer:
    def __init__(self, db: Database) -> None:
        self.db = self._db = db
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self._connection: AsyncConnection | None = None
        self._raw: RawConnection[Any] | None = None

    def submit(self, write: Write, *, wait: bool = False) -> asyncio.Future[None] | None:
        """Queue `write`; with `wait`, return a future resolved once it is committed."""
        self.check()
        future = asyncio.get_running_loop().create_future() if wait else None
        self._queue.put_nowait((write, future))
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="sending.writer")
        return future

    async def run(self, write: Write) -> None:
        future = self.submit(write, wait=True)
        assert future is not None
        await future

    async def flush(self) -> None:
        """Wait until everything submitted so far is committed."""
        if self._task is not None:
            await self.run(())
        self.check()

    @property
    def failed(self) -> bool:
        return self._error is not None

    def check(self) -> None:
        if self._error is not None:
            raise WriteFailed(f"an earlier write of this job failed: {self._error}") from (
                self._error
            )

    async def close(self) -> None:
        """Wait until everything submitted is committed, give the connection back; raise if
        any write failed."""
        task, self._task = self._task, None
        try:
            if task is not None:
                if self._error is None:
                    drained = asyncio.get_running_loop().create_future()
                    self._queue.put_nowait(((), drained))
                    with contextlib.suppress(WriteFailed):
                        await drained
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        finally:
            connection, self._connection, self._raw = self._connection, None, None
            if connection is not None:
                if self._error is not None:
                    await connection.invalidate()
                await connection.close()
        self.check()

    async def _run(self) -> None:
        while True:
            items = [await self._queue.get()]
            while not self._queue.empty():
                items.append(self._queue.get_nowait())
            for run in _runs(items):
                try:
                    if self._error is not None:
                        raise self._error
                    write = run[0][0]
                    if callable(write):
                        async with self._db.session() as session:
                            await write(session)
                    else:
                        await self._execute([sql for w, _ in run for sql in w])  # type: ignore[union-attr]
                except Exception as exc:
                    self._error = self._error or exc
                    for _, future in run:
                        if future is not None and not future.done():
                            future.set_exception(WriteFailed(str(exc)))
                else:
                    for _, future in run:
                        if future is not None and not future.done():
                            future.set_result(None)

    async def _execute(self, statements: list[Sql]) -> None:
        if not statements:
            return
        if self._raw is None:
            self._connection = await self._db.engine.connect()
            raw = await self._connection.get_raw_connection()
            self._raw = raw.driver_connection
        assert self._raw is not None
        async with self._raw.pipeline(), self._raw.transaction():
            for statement in statements:
                await self._raw.execute(statement.query, statement.params)


def _runs(items: list[_Item]) -> list[list[_Item]]:
    """Consecutive SQL writes together (one transaction); each session write alone."""
    runs: list[list[_Item]] = []
    for item in items:
        if not callable(item[0]) and runs and not callable(runs[-1][0][0]):
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs

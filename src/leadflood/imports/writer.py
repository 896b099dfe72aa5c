"""Writing one validated chunk: its leads, companies, rejected rows, warnings and the cursor's
advance, in one transaction.

One writer at a time, in file order: the resume cursor only moves forward, and the workspace's
lock keeps concurrent writers of leads without an email apart. Two transactions in flight (the
next chunk staged while the previous one writes its leads) were measured slower on a 2-core
machine: the database work is CPU-bound, so it only competed with itself
(docs/performance.md, "CSV import").
"""

from __future__ import annotations

import uuid

from sqlalchemy import text

from leadflood.db.engine import Database
from leadflood.errors import Conflict
from leadflood.imports import sql as import_sql
from leadflood.imports.validation_worker import ChunkResult, without_rows

# Company domains remembered as written by this run; past this, every chunk upserts all of its
# domains again (correct, just slower).
KNOWN_DOMAINS_MAX = 100_000


class ImportRaced(Conflict):
    code = "import_raced"
    message = "Another runner advanced this import; this one stops."


class ChunkWriter:
    def __init__(
        self,
        db: Database,
        *,
        import_id: uuid.UUID,
        workspace_id: uuid.UUID,
        on_duplicate: str,
        cursor: int,
        list_id: uuid.UUID | None = None,
        icp_id: uuid.UUID | None = None,
    ) -> None:
        self._list_id = list_id
        self._icp_id = icp_id
        self._db = db
        self._import_id = import_id
        self._workspace_id = workspace_id
        self._on_duplicate = on_duplicate
        self._cursor = cursor
        self._known: set[str] = set()
        # Whether the last chunk's people were all new to the workspace: the next chunk's are
        # then inserted without ON CONFLICT first (`import_sql.NEW_EMAIL_LEADS`).
        self._expect_new = True

    def _new_domains(self, domains: list[str]) -> list[str] | None:
        """The domains no earlier chunk of this run wrote; None (write them all) when one is
        not plain ASCII, since PostgreSQL may lower-case it otherwise than Python."""
        if not all(domain.isascii() for domain in domains):
            return None
        return [domain for domain in domains if domain not in self._known]

    async def write(self, chunk: ChunkResult, duplicates: list[int]) -> import_sql.ChunkCounts:
        """Writes and commits `chunk`; `duplicates` are its rows of people already met earlier
        in the file (first occurrence wins), skipped whatever `on_duplicate` says."""
        ws = self._workspace_id
        domains = self._new_domains(chunk.domains)
        async with self._db.session() as session:
            # One writer per workspace at a time: leads without an email have no unique index.
            await session.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                {"key": f"lead-import:{ws}"},
            )
            erased: list[int] = []
            if chunk.leads:
                await import_sql.stage(session, without_rows(chunk, duplicates))
                erased = await import_sql.drop_erased(session, ws)
                await import_sql.upsert_companies(session, ws, domains)
                counts = await import_sql.write_staged(
                    session, ws, skipped=len(duplicates), on_duplicate=self._on_duplicate,
                    list_id=self._list_id, icp_id=self._icp_id,
                    ascii_emails=chunk.ascii_emails, person_ids=chunk.person_ids,
                    expect_new=self._expect_new,
                )  # fmt: skip
            else:
                counts = import_sql.ChunkCounts(skipped=len(duplicates))
            await import_sql.copy_in(session, import_sql.COPY_REJECTIONS, chunk.rejections)
            await import_sql.copy_in(session, import_sql.COPY_WARNINGS, chunk.warnings)
            counts.erased = len(erased)
            if erased:
                line_of = dict(zip(chunk.numbers, chunk.lines, strict=True))
                rows = [(number, line_of[number]) for number in erased]
                await import_sql.reject_erased(session, self._import_id, rows)
            advanced = await session.execute(
                text(import_sql.ADVANCE),
                {
                    "id": self._import_id,
                    "cursor": self._cursor,
                    "rows": chunk.rows,
                    "created": counts.created,
                    "updated": counts.updated,
                    "skipped": counts.skipped,
                    "rejected": chunk.rejected + counts.erased,
                    "warned": chunk.warned,
                },
            )
            if advanced.rowcount != 1:  # type: ignore[attr-defined]
                raise ImportRaced()
        self._cursor += chunk.rows
        self._expect_new = not counts.met_existing
        if domains and len(self._known) + len(domains) <= KNOWN_DOMAINS_MAX:
            self._known.update(domains)  # only once committed: a rolled-back chunk wrote none
        return counts

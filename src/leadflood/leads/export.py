"""Leads as CSV: every standard column and every custom field key of the workspace, for the
leads a filter (the list's `LeadFilter`) or a selection picks.

Streamed in constant memory: one statement read through a server-side cursor in batches, each
batch written out as CSV text before the next is fetched, in one REPEATABLE READ transaction so
the header's custom keys and the rows come from one snapshot. Nothing is buffered beyond a
batch, so a million rows cost what a few thousand do (docs/performance.md, "Leads export")."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi.responses import StreamingResponse
from sqlalchemy import ColumnElement, func, literal, select, text
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import audit
from leadflood.auth.principal import CurrentMember
from leadflood.db.engine import Database
from leadflood.db.scope import in_workspace
from leadflood.leads import queries
from leadflood.leads.columns import (
    CUSTOM_COLUMN,
    EXPORT_COLUMNS,
    LEAD_COLUMNS,
    MANY_SEPARATOR,
)
from leadflood.leads.schemas import LeadFilter
from leadflood.models import Lead, LeadList, LeadListMember

BATCH = 2000
MAX_PICKED = 10_000


@dataclass
class Selection:
    """The leads to export: the ids picked, else every lead matching `where`."""

    where: LeadFilter = field(default_factory=LeadFilter)
    lead_ids: Sequence[uuid.UUID] = ()

    def condition(self, workspace_id: uuid.UUID) -> ColumnElement[bool]:
        if self.lead_ids:
            return in_workspace(Lead, workspace_id) & Lead.id.in_(list(self.lead_ids))
        return queries.filter_condition(workspace_id, self.where)


async def custom_keys(session: AsyncSession, workspace_id: uuid.UUID) -> list[str]:
    """Every custom field key the workspace's leads have, sorted."""
    rows = await session.scalars(
        text(
            "SELECT DISTINCT key FROM leads, jsonb_object_keys(leads.custom_fields) AS key "
            "WHERE leads.workspace_id = :ws"
        ),
        {"ws": workspace_id},
    )
    return sorted(rows)


async def count(session: AsyncSession, workspace_id: uuid.UUID, selection: Selection) -> int:
    total = await session.scalar(
        select(func.count()).select_from(Lead).where(selection.condition(workspace_id))
    )
    return int(total or 0)


def header(keys: Sequence[str]) -> list[str]:
    return [*EXPORT_COLUMNS, *(CUSTOM_COLUMN + key for key in keys)]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return value  # str, int, float, UUID, enums (StrEnum) as their text


async def stream_csv(
    db: Database,
    workspace_id: uuid.UUID,
    selection: Selection,
    *,
    batch: int = BATCH,
    on_rows: Callable[[int], None] | None = None,
) -> AsyncIterator[bytes]:
    """The CSV file in chunks of bytes (UTF-8, header first), oldest lead first; `on_rows` is
    told how many rows each chunk carries (for a progress bar)."""
    separator = literal(MANY_SEPARATOR)
    lists = (
        select(func.string_agg(LeadList.name, aggregate_order_by(separator, LeadList.name)))
        .join(LeadListMember, LeadListMember.list_id == LeadList.id)
        .where(LeadListMember.lead_id == Lead.id)
        .scalar_subquery()
    )
    columns = [
        *(getattr(Lead, name) for name in LEAD_COLUMNS),
        func.array_to_string(Lead.tags, MANY_SEPARATOR),
        lists,
    ]
    async with db.session() as session:
        await session.connection(
            execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )
        keys = await custom_keys(session, workspace_id)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(header(keys))
        yield out.getvalue().encode()
        query = (
            select(*columns, Lead.custom_fields)
            .where(selection.condition(workspace_id))
            .order_by(Lead.created_at, Lead.id)
            .execution_options(yield_per=batch)
        )
        result = await session.stream(query)
        async for rows in result.partitions(batch):
            out.seek(0)
            out.truncate()
            for row in rows:
                custom = row[-1] or {}
                writer.writerow(
                    [_cell(value) for value in row[:-1]] + [_cell(custom.get(k)) for k in keys]
                )
            if on_rows is not None:
                on_rows(len(rows))
            yield out.getvalue().encode()


async def record(
    session: AsyncSession, member: CurrentMember, selection: Selection, total: int
) -> None:
    """An export is audited: who took which leads' data, and how many."""
    await audit.record(
        session,
        "leads.exported",
        actor=member,
        target_type="workspace",
        target_id=member.workspace_id,
        details={
            "filter": selection.where.model_dump(mode="json", exclude_none=True),
            "picked": len(selection.lead_ids),
            "count": total,
        },
    )


async def download(
    session: AsyncSession, db: Database, member: CurrentMember, selection: Selection
) -> StreamingResponse:
    """The export as a download (for the API and the leads page), audited with its selection
    and size; `X-Total-Count` says how many rows follow the header."""
    total = await count(session, member.workspace_id, selection)
    await record(session, member, selection, total)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        stream_csv(db, member.workspace_id, selection),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="leads-{stamp}.csv"',
            "X-Total-Count": str(total),
            "Cache-Control": "no-store",
        },
    )

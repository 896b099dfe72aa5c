"""Keyset pagination: an opaque cursor holds the sort key of the last row seen, so a page costs
the same at row 50 and at row 5,000,000."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from leadflood.errors import InvalidInput

T = TypeVar("T")
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"
    message = "The cursor is not valid; start again from the first page."


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, row_id = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(created), uuid.UUID(row_id)
    except (ValueError, TypeError) as exc:
        raise InvalidCursor() from exc


def newest_first(
    query: Select[Any],
    created_at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[uuid.UUID],
    *,
    cursor: str | None,
    limit: int,
) -> Select[Any]:
    """Order newest first and start after `cursor`; fetch one extra row to know if more exist."""
    if cursor:
        after_created, after_id = decode_cursor(cursor)
        query = query.where(
            or_(created_at < after_created, and_(created_at == after_created, row_id < after_id))
        )
    return query.order_by(created_at.desc(), row_id.desc()).limit(limit + 1)


def page_of(rows: list[Any], limit: int) -> tuple[list[Any], str | None]:
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode_cursor(last.created_at, last.id)

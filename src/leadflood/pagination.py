"""Keyset pagination: an opaque cursor holds the sort key of the last row seen, so a page costs
the same at row 50 and at row 5,000,000."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Self, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, literal, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from leadflood.errors import InvalidInput

T = TypeVar("T")
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
CursorOf = Callable[[Any, bool], str]


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"
    message = "The cursor is not valid; start again from the first page."


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
    # The page before this one (None on the first page): pass it as `cursor` to go back.
    prev_cursor: str | None = None

    @classmethod
    def of(cls, page: Window[Any], read: Callable[[Any], T]) -> Self:
        return cls(
            items=[read(row) for row in page.items],
            next_cursor=page.next_cursor,
            prev_cursor=page.prev_cursor,
        )


@dataclass(frozen=True, slots=True)
class Window(Generic[T]):
    """One page of rows in list order, with the cursors of the pages after and before it."""

    items: list[T]
    next_cursor: str | None = None
    prev_cursor: str | None = None


def encode_parts(parts: list[Any], *, before: bool = False) -> str:
    """The one cursor codec: the key values of a row (JSON), marked `before` for a cursor that
    walks back from it, in URL-safe base64 without padding."""
    parts = parts + (["before"] if before else [])
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def decode_parts(cursor: str) -> tuple[list[Any], bool]:
    """(the key values, before) of a cursor made by `encode_parts`; InvalidCursor otherwise."""
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError) as exc:
        raise InvalidCursor() from exc
    if not isinstance(parts, list) or not parts:
        raise InvalidCursor()
    before = parts[-1] == "before"
    return (parts[:-1] if before else parts), before


def encode_cursor(created_at: datetime, row_id: uuid.UUID, *, before: bool = False) -> str:
    return encode_parts([created_at.isoformat(), str(row_id)], before=before)


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID, bool]:
    """(created_at, id, before): `before` asks for the rows that come before that row."""
    parts, before = decode_parts(cursor)
    try:
        created, row_id = parts
        return datetime.fromisoformat(created), uuid.UUID(row_id), before
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
    """Order newest first and start after `cursor` (or, for a `before` cursor, walk back from
    it oldest first); fetch one extra row to know if more exist. `page_of` puts the rows back
    in list order."""
    if not cursor:
        return query.order_by(created_at.desc(), row_id.desc()).limit(limit + 1)
    at, at_id, before = decode_cursor(cursor)
    key, bound = tuple_(created_at, row_id), tuple_(literal(at), literal(at_id))
    if before:
        return query.where(key > bound).order_by(created_at, row_id).limit(limit + 1)
    return query.where(key < bound).order_by(created_at.desc(), row_id.desc()).limit(limit + 1)


def window(
    rows: list[Any], limit: int, *, cursor: str | None, before: bool, encode: CursorOf
) -> Window[Any]:
    """The page out of `limit + 1` rows fetched from the cursor onwards (backwards for a
    `before` cursor); `encode(row, before)` makes a cursor at a row."""
    more = len(rows) > limit
    rows = rows[:limit]
    if before:
        rows.reverse()
        return Window(
            rows,
            next_cursor=encode(rows[-1], False) if rows else None,
            prev_cursor=encode(rows[0], True) if more else None,
        )
    return Window(
        rows,
        next_cursor=encode(rows[-1], False) if more else None,
        prev_cursor=encode(rows[0], True) if cursor and rows else None,
    )


def page_of(rows: list[Any], limit: int, cursor: str | None) -> Window[Any]:
    """The page of rows fetched by `newest_first` with the same `cursor` and `limit`."""
    return window(
        rows,
        limit,
        cursor=cursor,
        before=decode_cursor(cursor)[2] if cursor else False,
        encode=lambda row, back: encode_cursor(row.created_at, row.id, before=back),
    )

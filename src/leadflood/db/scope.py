"""The one way to query tenant rows: every select goes through `scoped`, so a row of another
workspace is simply not found."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.errors import NotFound

T = TypeVar("T")


def in_workspace(model: Any, workspace_id: Any) -> ColumnElement[bool]:
    """The tenant condition, for selects of columns, joins and bulk statements."""
    return model.workspace_id == workspace_id  # type: ignore[no-any-return]


def scoped(model: type[T], workspace_id: uuid.UUID) -> Select[T]:
    return select(model).where(in_workspace(model, workspace_id))


async def get_scoped(
    session: AsyncSession,
    model: type[T],
    workspace_id: uuid.UUID,
    row_id: uuid.UUID,
    *,
    error: type[NotFound] = NotFound,
    options: tuple[Any, ...] = (),
    for_update: bool = False,
) -> T:
    query = scoped(model, workspace_id).where(model.id == row_id)  # type: ignore[attr-defined]
    if options:
        query = query.options(*options)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise error()
    return row

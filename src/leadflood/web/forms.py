"""What every HTML form shares: one way for a refused submission to reach its fields, and one
savepoint around the use case a form runs (a refusal rolls back what it wrote, and the page is
shown again with the request's session still usable)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.errors import AppError
from leadflood.schemas import human_message

# The key of a message that belongs to no field: shown above the form.
FORM = "_form"

Loc = Sequence[str | int]


def first_field(loc: Loc) -> str:
    """The default field of an error: the first name in its location."""
    names = [str(part) for part in loc if not isinstance(part, int)]
    return names[0] if names else FORM


def field_errors(
    exc: ValidationError | AppError,
    *,
    key: Callable[[Loc], str] = first_field,
    prefix: str = "",
) -> dict[str, str]:
    """{field: message} for a refused form. A validation error gives one message per field (the
    first when a field has several), placed by `key` (a page whose inputs are named otherwise
    maps the error's location to its input); a use case's `AppError` lands on the field its
    details name (`details={"field": ...}`), else above the form."""
    if isinstance(exc, AppError):
        field = exc.details.get("field") if isinstance(exc.details, dict) else None
        return {prefix + str(field or FORM): exc.message}
    errors: dict[str, str] = {}
    for error in exc.errors():
        errors.setdefault(prefix + key(error["loc"]), human_message(error))
    return errors


@asynccontextmanager
async def savepoint(session: AsyncSession) -> AsyncIterator[Any]:
    """Run a form's use case in a savepoint: when it raises, only its own writes are undone."""
    async with session.begin_nested() as nested:
        yield nested

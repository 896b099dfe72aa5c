"""The bases every API contract builds on: requests refuse unknown fields (the error contract
says so) and trim their strings, responses read ORM rows, and one time-zone check."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic_core import ErrorDetails


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def iana_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("must be an IANA time zone such as Europe/Berlin") from exc
    return value


TimeZone = Annotated[str, AfterValidator(iana_zone)]


def human_message(error: ErrorDetails) -> str:
    """A form field's validation error in words a user acts on, instead of pydantic's own."""
    kind, ctx = error["type"], error.get("ctx") or {}
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return "This field is required."
    if kind == "string_too_short":
        return f"Use at least {ctx.get('min_length')} characters."
    if kind == "string_too_long":
        return f"Use at most {ctx.get('max_length')} characters."
    if kind in BOUNDS:
        words, key = BOUNDS[kind]
        return f"Use a number {words} {ctx.get(key)}."
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "Enter a whole number."
    if kind in ("float_parsing", "float_type", "decimal_parsing"):
        return "Enter a number."
    if kind in ("enum", "literal_error"):
        return f"Choose one of: {ctx.get('expected', '')}.".replace("'", "")
    if kind.startswith("url"):
        return "Enter a full web address, such as https://example.com."
    if "valid email address" in message:
        return "Enter a valid email address, such as name@company.com."
    return message[:1].upper() + message[1:]


BOUNDS = {
    "less_than_equal": ("up to", "le"),
    "greater_than_equal": ("of at least", "ge"),
    "less_than": ("below", "lt"),
    "greater_than": ("above", "gt"),
}

"""Form errors in words a user acts on (`human_message`), for the validation errors forms meet."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, EmailStr, Field, HttpUrl, ValidationError

from leadflood.schemas import TimeZone, human_message


class Form(BaseModel):
    weight: int = Field(0, le=100)
    cap: int = Field(1, ge=1)
    name: str = Field("x", min_length=1, max_length=5)
    code: str = Field("abc", min_length=3)
    email: EmailStr = "a@b.co"
    channel: Literal["email", "sms"] = "email"
    count: int = 0
    site: HttpUrl = HttpUrl("https://example.com")
    zone: TimeZone = "UTC"


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("weight", 101, "Use a number up to 100."),
        ("cap", 0, "Use a number of at least 1."),
        ("name", "", "This field is required."),
        ("name", "abcdef", "Use at most 5 characters."),
        ("code", "ab", "Use at least 3 characters."),
        ("email", "nope", "Enter a valid email address, such as name@company.com."),
        ("channel", "fax", "Choose one of: email or sms."),
        ("count", "many", "Enter a whole number."),
        ("site", "not a url", "Enter a full web address, such as https://example.com."),
        ("zone", "Mars/Olympus", "Must be an IANA time zone such as Europe/Berlin"),
    ],
)
def test_each_error_reads_as_an_instruction(field: str, value: object, expected: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Form.model_validate({field: value})
    assert human_message(caught.value.errors()[0]) == expected


def test_a_missing_field_is_required() -> None:
    class Needs(BaseModel):
        name: str

    with pytest.raises(ValidationError) as caught:
        Needs.model_validate({})
    assert human_message(caught.value.errors()[0]) == "This field is required."

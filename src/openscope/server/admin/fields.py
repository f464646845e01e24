"""The admin API's field types: every string, number and query integer it takes is one of
these, so what the database (PostgreSQL's text and 64-bit integers) and the limiters'
arithmetic cannot take is refused at the edge, as a 400 naming the field, and never
reaches them as a 500.

- Strings hold no NUL character (PostgreSQL's text and JSON cannot store one).
- Numbers are finite (Python's json reads `Infinity` and `NaN`) and bounded, so that a
  time in ms, or the wait a limit implies in ms, still fits in 64 bits. The limits' own
  types, `Count` and `PerSecond`, are core.bounds', shared with the settings.
- Query integers are ASCII digits only (pydantic also reads `1_000`, and `int()` other
  scripts' digits).
- Path and query parameters are checked for NUL by one router dependency."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Request
from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from openscope.core.errors import InvalidParameter

# 9999-12-31T23:59:59Z, the last second a date can name; in ms it is far inside 64 bits.
MAX_EPOCH_SECONDS = 253_402_300_799
NUL_MESSAGE = "String should not contain NUL characters"
DIGITS_MESSAGE = "Input should be a whole number in ASCII digits"


def _without_nul(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError("string_nul", NUL_MESSAGE)
    return value


def _ascii_digits(value: Any) -> Any:
    """A query integer as written: ASCII digits, nothing else (numbers from JSON pass)."""
    if isinstance(value, str) and not is_ascii_digits(value):
        raise PydanticCustomError("int_parsing", DIGITS_MESSAGE)
    return value


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


def is_ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


Text = Annotated[str, AfterValidator(_without_nul)]
"""Any string the admin API takes."""

EpochSeconds = Annotated[
    int,
    BeforeValidator(_not_bool),
    BeforeValidator(_ascii_digits),
    Field(ge=0, le=MAX_EPOCH_SECONDS),
]
"""A time, in seconds since the epoch (never `true`, which Python would read as 1)."""

QueryInt = Annotated[int, BeforeValidator(_ascii_digits)]
"""A query integer; its route bounds it."""


def epoch_cursor(text: str, param: str) -> int:
    """An opaque page cursor that holds a time in seconds (as `next_page` gives it)."""
    if is_ascii_digits(text) and len(text) <= len(str(MAX_EPOCH_SECONDS)):
        value = int(text)
        if value <= MAX_EPOCH_SECONDS:
            return value
    raise InvalidParameter(
        f"Invalid '{param}': expected the next_page of an earlier answer.", param=param
    )


async def refuse_nul_parameters(request: Request) -> None:
    """A router dependency: no path or query parameter holds a NUL character."""
    given = [*request.path_params.items(), *request.query_params.multi_items()]
    for name, value in given:
        if isinstance(value, str) and "\x00" in value:
            raise InvalidParameter(f"Invalid '{name}': {NUL_MESSAGE}.", param=name)

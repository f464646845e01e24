"""Bounded limit numbers, one definition for both places a limit is written: a settings
file's `[platform.limits]` tables (TOML reads `inf`, `nan` and `1e-300`) and the admin
API's bodies (Python's json reads `Infinity` and `NaN`). What the limiters' arithmetic,
a Redis expiry in ms or a 64-bit database column cannot take is refused where it is
written, naming the field, instead of failing later or limiting nothing.

Both are strict: a count is an integer, never `true` (a bool is an int to Python) nor
`"60"` or `60.0`; a rate is a number (an integer is one), never a bool or a string."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, Strict

# The largest count limit (requests or tokens per minute or day, calls at once): far
# beyond any real one, and a capacity the limiters count exactly.
MAX_LIMIT = 10**12
# The smallest per-second rate: one unit every 1000 s (slower is an RPM or a day's budget).
# Below it a unit's wait, in ms, for a large request outgrows a 64-bit Redis expiry.
MIN_PER_SECOND = 0.001

Count = Annotated[int, Strict(), Field(gt=0, le=MAX_LIMIT)]
"""A count limit: requests or tokens per minute or day, calls in flight."""

PerSecond = Annotated[float, Strict(), Field(ge=MIN_PER_SECOND, le=MAX_LIMIT, allow_inf_nan=False)]
"""A rate limit per second."""

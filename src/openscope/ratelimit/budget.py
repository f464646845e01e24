"""A day's token budget (`tpd`): a period budget, not a rate. Each UTC day starts with the
whole budget and nothing of it comes back before the next midnight UTC, so a spent budget
answers with the time to that midnight (and `x-should-retry: false`: retrying sooner is
pointless). A continuous refill would instead give back a token every 86400/tpd seconds and
tell a client to stop over a wait of seconds.

State per budget: the day it counts (whole days since the Unix epoch, on the store's clock)
and the tokens used in it; a state of an earlier day counts as nothing used."""

from __future__ import annotations

import math

DAY = 86_400


def day_of(now: float) -> int:
    """The UTC day `now` (seconds since the Unix epoch) falls in."""
    return math.floor(now / DAY)


def until_reset(now: float) -> float:
    """Seconds from `now` to the next midnight UTC, when every budget is whole again."""
    return (day_of(now) + 1) * DAY - now


def used_today(state: tuple[int, int] | None, now: float) -> int:
    """The tokens a budget's `(day, used)` state has used on `now`'s day."""
    if state is None or state[0] != day_of(now):
        return 0
    return state[1]


def fits(limit: int, used: int, cost: int) -> bool:
    return used + cost <= limit

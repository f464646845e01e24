from __future__ import annotations

from openscope.core.quota import Demand, LimitScope, RateLimits


class FakeClock:
    """A clock the test advances by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def scope(key: str, **limits: int | float) -> LimitScope:
    """A scope with exactly these limits (no per-second ones implied)."""
    return LimitScope(key=key, limits=RateLimits(**limits))  # type: ignore[arg-type]


def demand(tokens: int = 1, requests: int = 1) -> Demand:
    return Demand(tokens=tokens, requests=requests)

"""The engine thread's running totals for its metrics: prompt, cache-hit and generated
tokens since it started, and the tokens sampled in each recent step, for the decode rate
over the last RATE_WINDOW_SECONDS."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

RATE_WINDOW_SECONDS = 5.0


@dataclass(slots=True)
class EngineCounters:
    prompt_tokens: int = 0
    cache_hit_tokens: int = 0
    generated_tokens: int = 0
    recent: collections.deque[tuple[float, int]] = field(
        default_factory=lambda: collections.deque(maxlen=512)
    )

    def rate(self, now: float) -> float:
        window = [(t, n) for t, n in self.recent if now - t <= RATE_WINDOW_SECONDS]
        if not window:
            return 0.0
        return sum(n for _, n in window) / max(now - window[0][0], 1e-3)

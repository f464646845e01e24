"""Stop strings over a text stream.

Text that might be the start of a stop string is held back until the next piece shows it
is not, so a stop string never reaches the client, even when it arrives split over several
tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StopScan:
    emit: str  # text that is safe to send now
    stop: str | None  # the stop string that ended generation, if one did


class StopMatcher:
    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = tuple(s for s in stops if s)
        self._held = ""

    @property
    def held(self) -> str:
        return self._held

    def feed(self, text: str) -> StopScan:
        if not self._stops:
            return StopScan(text, None)
        buffer = self._held + text
        hit: tuple[int, str] | None = None
        for stop in self._stops:
            at = buffer.find(stop)
            if at != -1 and (hit is None or at < hit[0]):
                hit = (at, stop)
        if hit is not None:
            self._held = ""
            return StopScan(buffer[: hit[0]], hit[1])
        keep = self._longest_partial_suffix(buffer)
        self._held = buffer[len(buffer) - keep :] if keep else ""
        return StopScan(buffer[: len(buffer) - keep], None)

    def flush(self) -> str:
        """The held-back text, once the stream has ended without a stop."""
        held, self._held = self._held, ""
        return held

    def _longest_partial_suffix(self, buffer: str) -> int:
        """Length of the longest suffix of `buffer` that is a proper prefix of a stop."""
        best = 0
        for stop in self._stops:
            for size in range(min(len(stop) - 1, len(buffer)), best, -1):
                if buffer.endswith(stop[:size]):
                    best = size
                    break
        return best

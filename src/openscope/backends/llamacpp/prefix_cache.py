"""Which prompts' KV the engine keeps, and which one a new request can start from.

The KV itself lives in the llama.cpp context under sequence ids this cache hands out; the
cache only does the bookkeeping (what each id holds, when it was last used, how long an
explicit entry lives) and tells the scheduler which ids to copy from and which to free.

Model Studio's rules (BEHAVIOUR.md, "Context cache"):
- implicit: always on, best effort, a hit needs at least 256 tokens;
- explicit (cache_control markers) and session (Responses header): an entry of at least
  1024 tokens, written after the response finishes, lives 5 minutes and each hit resets it;
  a request in explicit mode is only served (and billed) from explicit entries.
A marker may ask for a longer life (Anthropic's `ttl: "1h"`): the entry then lives that
long after each use, and never shorter than the server's own explicit life.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

IMPLICIT_MIN_TOKENS = 256
EXPLICIT_MIN_TOKENS = 1024
EXPLICIT_TTL_SECONDS = 300.0


@dataclass(slots=True)
class CachedPrefix:
    seq_id: int
    tokens: tuple[int, ...]  # the tokens whose KV the sequence holds, from position 0
    last_used: float
    marked: int = 0  # explicit entries: how many leading tokens the entry covers
    expires_at: float = 0.0  # explicit entries: when the explicit life ends
    life: float = 0.0  # explicit entries: seconds each use keeps them alive

    def explicit_alive(self, now: float) -> bool:
        return self.marked > 0 and self.expires_at > now


@dataclass(frozen=True, slots=True)
class CacheHit:
    seq_id: int
    reuse: int  # leading prompt tokens whose KV is copied instead of computed
    reported: int  # prompt tokens reported as read from the cache


@dataclass(frozen=True, slots=True)
class Placement:
    """Where to keep a finished sequence's KV, and which entries made room for it."""

    seq_id: int
    evicted: tuple[int, ...]


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


class PrefixCache:
    def __init__(
        self,
        seq_ids: Iterable[int],
        budget_tokens: int,
        *,
        implicit_min: int = IMPLICIT_MIN_TOKENS,
        explicit_min: int = EXPLICIT_MIN_TOKENS,
        explicit_ttl: float = EXPLICIT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._free = list(seq_ids)
        self._entries: dict[int, CachedPrefix] = {}
        self.budget_tokens = budget_tokens
        self.implicit_min = implicit_min
        self.explicit_min = explicit_min
        self.explicit_ttl = explicit_ttl
        self._clock = clock

    @property
    def entries(self) -> int:
        return len(self._entries)

    @property
    def used_tokens(self) -> int:
        # An upper bound: entries that share a prefix share its KV cells too.
        return sum(len(e.tokens) for e in self._entries.values())

    def _life(self, ttl: float | None) -> float:
        """How long an explicit entry lives after a use: the server's life, or the longer
        one a marker asks for."""
        return max(self.explicit_ttl, ttl or 0.0)

    def lookup(
        self,
        prompt: Sequence[int],
        *,
        explicit: bool,
        marks: Sequence[int] | None = (),
        ttl: float | None = None,
    ) -> CacheHit | None:
        """The best entry to start `prompt` from. In explicit mode only a live explicit
        entry ending at one of the request's markers (`marks`, token counts; None: at any)
        serves it, and the hit keeps it alive for its life, or for `ttl` seconds if the
        request's markers ask for longer. At least the last prompt token is always
        computed, so its logits are fresh."""
        now = self._clock()
        limit = len(prompt) - 1
        best: tuple[int, CachedPrefix, int] | None = None  # (reported, entry, reuse)
        for entry in self._entries.values():
            if explicit:
                if not entry.explicit_alive(now):
                    continue
                if marks is not None and entry.marked not in marks:
                    continue
                if entry.marked > limit:
                    continue
                shared = common_prefix(entry.tokens, prompt)
                if shared < entry.marked:
                    continue
                reported = entry.marked
            else:
                shared = common_prefix(entry.tokens, prompt)
                reported = min(shared, limit)
                if reported < self.implicit_min:
                    continue
            if best is None or reported > best[0]:
                best = (reported, entry, min(shared, limit))
        if best is None:
            return None
        reported, entry, reuse = best
        entry.last_used = now
        if explicit:
            entry.life = max(entry.life, self._life(ttl))
            entry.expires_at = now + entry.life  # each hit resets the life
        return CacheHit(entry.seq_id, reuse=reuse, reported=reported)

    def worth_keeping(self, tokens: Sequence[int], marked: int) -> bool:
        if marked:
            return marked >= self.explicit_min
        return len(tokens) >= self.implicit_min

    def place(
        self, tokens: Sequence[int], *, marked: int = 0, ttl: float | None = None
    ) -> Placement | None:
        """Make room for an entry holding `tokens` (with `marked` leading tokens cached
        explicitly, alive for `ttl` seconds if that is longer than the server's explicit
        life). Entries it supersedes (prefixes of it) are dropped first, then the least
        recently used; explicit entries still alive go last. None: it cannot fit."""
        now = self._clock()
        if len(tokens) > self.budget_tokens or not self.worth_keeping(tokens, marked):
            return None
        kept = tuple(tokens)
        evicted = [
            e.seq_id
            for e in self._entries.values()
            if common_prefix(e.tokens, kept) == len(e.tokens)
            and not (e.explicit_alive(now) and e.marked > marked)
        ]
        for seq_id in evicted:
            self._release(seq_id)
        while self._entries and (
            not self._free or self.used_tokens + len(kept) > self.budget_tokens
        ):
            victim = min(self._entries.values(), key=lambda e: (e.explicit_alive(now), e.last_used))
            evicted.append(victim.seq_id)
            self._release(victim.seq_id)
        if not self._free:
            return None
        seq_id = self._free.pop()
        life = self._life(ttl) if marked else 0.0
        self._entries[seq_id] = CachedPrefix(
            seq_id,
            kept,
            last_used=now,
            marked=marked,
            expires_at=now + life if marked else 0.0,
            life=life,
        )
        return Placement(seq_id, tuple(evicted))

    def evict_oldest(self, *, keep: int | None = None) -> int | None:
        """Free the least recently used entry other than `keep` (live explicit entries
        last), to make room for KV cells. None: nothing left to evict."""
        now = self._clock()
        candidates = [e for e in self._entries.values() if e.seq_id != keep]
        if not candidates:
            return None
        victim = min(candidates, key=lambda e: (e.explicit_alive(now), e.last_used))
        self._release(victim.seq_id)
        return victim.seq_id

    def discard(self, seq_id: int) -> None:
        """Forget an entry whose KV could not be written."""
        if seq_id in self._entries:
            self._release(seq_id)

    def clear(self) -> None:
        """Forget every entry (the context's KV was cleared)."""
        for seq_id in list(self._entries):
            self._release(seq_id)

    def _release(self, seq_id: int) -> None:
        del self._entries[seq_id]
        self._free.append(seq_id)

"""Which replica of an upstream serves a request: the one its prefix hashes to (rendezvous
hashing, so the turns of one conversation, and requests sharing a long system and tools
prefix, meet the same engine's prefix cache), unless that one is much busier than the least
busy, full, or cooling down after failures; the other replicas follow as fallbacks, best
priority first, least busy first. A replica that fails `failures_to_open` times in a row is
left out for `cooldown` seconds, then tried again.

How busy a replica is: the requests openscope has in flight on it, plus those its engine
last reported holding that are not openscope's (other openscope servers', other clients'),
where the engine reports its load (`Dialect.load_gauges`); elsewhere only openscope's own."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from openscope.backends.openai_upstream.dialect import DIALECTS, Dialect

# How many more requests than the least busy replica the sticky one may hold before
# affinity gives way to load (a bounded imbalance).
IMBALANCE = 4


@dataclass(slots=True)
class Replica:
    url: str
    headers: dict[str, str] = field(repr=False)  # holds the key: never in a repr or a log
    weight: int = 1
    priority: int = 0  # lower is preferred; higher ones are fallbacks
    max_concurrent: int | None = None
    dialect: Dialect = field(default_factory=lambda: DIALECTS["openai"])
    outstanding: int = 0  # openscope's requests in flight on it
    # The requests its engine held at the last look that were not openscope's; None: the
    # engine reports no load (no metrics page, or one that could not be read).
    others: int | None = None
    failures: int = 0  # consecutive
    open_until: float = 0.0  # the circuit is open (the replica skipped) until then

    @property
    def root(self) -> str:
        """The server's root (the engine's own endpoints: /health, /tokenize, ...)."""
        return self.url.removesuffix("/v1")

    @property
    def load(self) -> int:
        """The requests it holds, as best known: ours now, others' as last reported."""
        return self.outstanding + (self.others or 0)

    def full(self) -> bool:
        # max_concurrent caps what openscope sends, whatever others send
        return self.max_concurrent is not None and self.outstanding >= self.max_concurrent


def _score(key: bytes, replica: Replica) -> float:
    digest = hashlib.blake2b(key + replica.url.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") * replica.weight


class ReplicaPool:
    def __init__(
        self,
        replicas: list[Replica],
        *,
        failures_to_open: int = 3,
        cooldown: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.replicas = replicas
        self._failures_to_open = failures_to_open
        self._cooldown = cooldown
        self._clock = clock

    def order(self, key: bytes) -> list[Replica]:
        """The replicas to try for a request with affinity `key`, first choice first."""
        now = self._clock()
        closed = [r for r in self.replicas if r.open_until <= now]
        # With every circuit open, try them all rather than fail without asking.
        pool = closed or list(self.replicas)
        pool = [r for r in pool if not r.full()]
        if not pool:
            return []  # every replica at its max_concurrent: the caller answers overloaded
        best = min(r.priority for r in pool)
        tier = [r for r in pool if r.priority == best]
        sticky = max(tier, key=lambda r: _score(key, r))
        least = min(tier, key=lambda r: r.load)
        first = sticky if sticky.load <= least.load + IMBALANCE else least
        rest = sorted((r for r in pool if r is not first), key=lambda r: (r.priority, r.load))
        return [first, *rest]

    @staticmethod
    def reported(replica: Replica, held: int | None) -> None:
        """The engine's own count of the requests it holds (running and waiting), or None
        when it gave none. Ours in flight now are in that count (give or take one that is
        arriving or leaving); the rest are others'."""
        replica.others = None if held is None else max(0, held - replica.outstanding)

    def checked(self, replica: Replica, healthy: bool, *, until_next: float) -> None:
        """An active health check's verdict: an unhealthy replica is skipped until the next
        check; a healthy one is in, even if it was resting after failed requests."""
        if healthy:  # also a half-open probe for a circuit opened by failed requests
            replica.failures = 0
            replica.open_until = 0.0
        else:
            replica.open_until = max(replica.open_until, self._clock() + until_next)

    def succeeded(self, replica: Replica) -> None:
        replica.failures = 0
        replica.open_until = 0.0

    def failed(self, replica: Replica) -> None:
        replica.failures += 1
        if replica.failures >= self._failures_to_open:
            replica.open_until = self._clock() + self._cooldown

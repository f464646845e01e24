"""The in-process limiter: GCRA state and day budgets in dicts, for one replica (or as the
Redis limiter's fallback). Every decision runs without an await between check and charge,
so it is atomic on its event loop."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from openscope.core.quota import Admission, Demand, LimitScope

from . import budget, gcra
from .plan import Budget, Counter, Plan, allowances, plan, refusal, too_large


@dataclass(eq=False, slots=True)
class InProcessTicket:
    """What `settle` needs: the token buckets charged, what was reserved in them, the
    budgets charged and on which day, and the in-flight counts that took this call."""

    owner: InProcessLimiter
    token_counters: tuple[Counter, ...]
    slot_keys: tuple[str, ...]
    budgets: tuple[Budget, ...] = ()
    day: int = 0
    settled: bool = False


class InProcessLimiter:
    """`clock` is seconds since the Unix epoch, as Redis's `TIME` (the day budgets reset at
    midnight UTC). Buckets that are full again and budgets of past days are forgotten
    lazily: when more than `sweep_above` are held, they are dropped."""

    remote = False

    def __init__(
        self, clock: Callable[[], float] = time.time, *, sweep_above: int = 10_000
    ) -> None:
        self._clock = clock
        self._tats: dict[str, float] = {}
        self._budgets: dict[str, tuple[int, int]] = {}  # key -> (day, tokens used that day)
        self._in_flight: dict[str, int] = {}
        self._sweep_above = sweep_above
        self._next_sweep = sweep_above

    async def admit(self, scopes: tuple[LimitScope, ...], demand: Demand) -> Admission:
        return self._admit(scopes, demand)

    async def settle(self, ticket: object, tokens_used: int) -> None:
        self._settle(ticket, tokens_used)

    async def close(self) -> None:
        self._tats.clear()
        self._budgets.clear()
        self._in_flight.clear()

    # The same, synchronously (no await anywhere between check and charge).

    def _admit(self, scopes: tuple[LimitScope, ...], demand: Demand) -> Admission:
        now = self._clock()
        decision = plan(scopes, demand)
        held = self._tats
        # The common case first, in one pass: buckets only, each holding what the call
        # needs (`gcra.conforms`, written out); anything else takes the whole path below.
        tats = []
        passes = not decision.budgets and not decision.slots
        for counter in decision.counters:
            tat = held.get(counter.key, now)
            tats.append(tat)
            bucket = counter.bucket
            room = bucket.interval * (bucket.capacity - counter.units) + gcra.EPSILON
            if counter.units > bucket.capacity or (tat - now if tat > now else 0.0) > room:
                passes = False
        if passes:
            return self._admitted(decision, now)
        oversized = too_large(decision)
        if oversized is not None:
            kind, what = oversized
            requests, tokens = allowances(decision, tats, now)
            return Admission(
                admitted=False, refused=kind, too_large=what, requests=requests, tokens=tokens
            )
        budgets_fit = [
            budget.fits(b.limit, budget.used_today(self._budgets.get(b.key), now), b.cost)
            for b in decision.budgets
        ]
        slots_free = [self._in_flight.get(s.key, 0) < s.limit for s in decision.slots]
        conforming = [
            gcra.conforms(c.bucket, t, now, c.units)
            for c, t in zip(decision.counters, tats, strict=True)
        ]
        if not (all(conforming) and all(budgets_fit) and all(slots_free)):
            refused = refusal(decision, tats, conforming, slots_free, now, budgets_fit)
            assert refused is not None
            kind, wait = refused
            requests, tokens = allowances(decision, tats, now)
            return Admission(
                admitted=False, refused=kind, retry_after=wait, requests=requests, tokens=tokens
            )
        return self._admitted(decision, now)

    def _admitted(self, decision: Plan, now: float) -> Admission:
        """Charge everything the call counts in (it has been found to fit)."""
        held = self._tats
        charged = self._charge(decision, now)
        day = budget.day_of(now) if decision.budgets else 0
        for b in decision.budgets:
            used = budget.used_today(self._budgets.get(b.key), now)
            self._budgets[b.key] = (day, used + b.cost)
        for slot in decision.slots:
            self._in_flight[slot.key] = self._in_flight.get(slot.key, 0) + 1
        if len(held) + len(self._budgets) > self._next_sweep:
            self._sweep(now)
        requests, tokens = allowances(decision, charged, now)
        ticket = InProcessTicket(
            self,
            decision.token_counters,
            tuple(s.key for s in decision.slots) if decision.slots else (),
            decision.budgets,
            day,
        )
        return Admission(admitted=True, ticket=ticket, requests=requests, tokens=tokens)

    def _settle(self, ticket: object, tokens_used: int) -> None:
        if not isinstance(ticket, InProcessTicket) or ticket.owner is not self:
            raise TypeError(f"not a ticket of this limiter: {ticket!r}")
        if ticket.settled:
            return
        ticket.settled = True
        now = self._clock()
        for counter in ticket.token_counters:
            delta = tokens_used - counter.cost
            if delta:
                tat = gcra.settle(counter.bucket, self._tats.get(counter.key, now), now, delta)
                if tat > now:
                    self._tats[counter.key] = tat
                else:
                    self._tats.pop(counter.key, None)
        for b in ticket.budgets:
            held = self._budgets.get(b.key)
            # A call admitted on a day now past was counted in that day's budget: today's
            # owes it nothing, and is refunded nothing.
            if held is not None and held[0] == ticket.day:
                self._budgets[b.key] = (held[0], max(0, held[1] + tokens_used - b.cost))
        for key in ticket.slot_keys:
            count = self._in_flight.get(key, 0) - 1
            if count > 0:
                self._in_flight[key] = count
            else:
                self._in_flight.pop(key, None)

    def _charge(self, decision: Plan, now: float) -> list[float]:
        charged: list[float] = []
        tats = self._tats
        for counter in decision.counters:
            # Read again rather than reuse the checked value: a key named twice compounds.
            tat = gcra.charge(counter.bucket, tats.get(counter.key, now), now, counter.cost)
            tats[counter.key] = tat
            charged.append(tat)
        return charged

    def _sweep(self, now: float) -> None:
        self._tats = {key: tat for key, tat in self._tats.items() if tat > now}
        today = budget.day_of(now)
        self._budgets = {key: held for key, held in self._budgets.items() if held[0] == today}
        # Sweep again only once the dicts have doubled, so dicts of busy buckets cost O(1)
        # amortized per call rather than a full pass each time.
        self._next_sweep = max(self._sweep_above, 2 * (len(self._tats) + len(self._budgets)))

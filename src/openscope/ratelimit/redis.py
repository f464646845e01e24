"""The Redis limiter: the same GCRA as `memory`, its state in Redis so that every replica
counts in the same buckets. One Lua procedure per decision checks every bucket and every
concurrency gauge of every scope and charges them all or none, on Redis's own clock (`TIME`),
so replicas' clocks never matter. A second procedure settles. The decisions of one event
loop turn go to Redis together, as one call of one script (`batching`), through the client
(`link`). The procedures themselves are in `scripts`.

Keys (under `prefix`): `{scope}:rpm|rps|tpm|tps` hold a TAT (seconds, a decimal string) and
expire when their bucket is full again, so idle scopes leave nothing behind;
`{scope}:tpd` holds the UTC day it counts and the tokens used in it, and expires after that
day;
`{scope}:inflight` is a ZSET of the calls in flight, scored by Redis time when each was
admitted; members older than `slot_ttl` are pruned before counting, so a replica that died
mid-call frees its slots in the end.

Redis unreachable: `fail_closed` refuses every call with `Overloaded`; otherwise the
`fallback` limiter decides (or, without one, calls pass unlimited). One warning per outage.
While Redis is down it is tried again at most every `recheck_after` seconds, so an outage does
not cost every call a connection timeout. Settles that cannot reach Redis are kept (up to
`MAX_PENDING_SETTLES`) and replayed once it is back, so its slots do not stay taken for an
hour."""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import redis.asyncio
import redis.exceptions

from openscope.core.errors import Overloaded
from openscope.core.quota import Admission, Demand, LimitScope, RateLimiter

from . import budget, gcra
from .batching import Batcher
from .link import link_for
from .plan import Counter, Plan, allowances, plan, refusal, too_large
from .scripts import ADMIT, PRELUDE, PROCEDURES, SETTLE

log = logging.getLogger("openscope.ratelimit")

OVERLOADED_MESSAGE = "Rate limits cannot be checked now, please try again later."
MAX_PENDING_SETTLES = 10_000
WIRES_KEPT = 10_000  # buckets whose script arguments are kept; all dropped past that

# A bucket as the script reads it: the bucket, its full key, its interval T and its slack
# for one unit, as text.
Wire = tuple[gcra.Bucket, str, str, str]

UNREACHABLE: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    OSError,
)
"""What says Redis cannot be reached (rather than a bug or a refused command)."""


def _pass_on(outcome: asyncio.Future[Admission], done: asyncio.Future[Admission]) -> None:
    """`done`'s answer or error, to `outcome` (unless its caller went away)."""
    if done.cancelled():
        outcome.cancel()
        return
    error = done.exception()  # taken even when nobody waits for it any more
    if outcome.done():
        return
    if error is not None:
        outcome.set_exception(error)
    else:
        outcome.set_result(done.result())


@dataclass(eq=False, slots=True)
class RedisTicket:
    """The token buckets (full key names and emission intervals) and gauges one admission
    charged, and its slot id in the gauges."""

    token_keys: tuple[str, ...]
    token_intervals: tuple[float, ...]
    token_costs: tuple[int, ...]  # what each was charged at admission
    slot_keys: tuple[str, ...]
    slot_id: str
    budget_keys: tuple[str, ...] = ()
    budget_costs: tuple[int, ...] = ()
    day: int = 0  # the UTC day the budgets were charged on
    settled: bool = False

    @property
    def costs(self) -> tuple[int, ...]:
        return self.token_costs + self.budget_costs


@dataclass(eq=False, slots=True)
class FallbackTicket:
    """An admission decided without Redis: by the fallback (`inner` is its ticket), or by
    nobody (`inner` None: Redis was down, no fallback, fail open)."""

    inner: object | None


class RedisLimiter:
    """Rate limits in Redis, shared by every replica using the same `prefix`. The limiter
    owns `client` (and `fallback`): `close` closes them."""

    remote = True

    def __init__(
        self,
        client: redis.asyncio.Redis,
        *,
        prefix: str = "openscope:rl:",
        fallback: RateLimiter | None,
        fail_closed: bool,
        slot_ttl: float = 3600.0,
        recheck_after: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._fallback = fallback
        self._fail_closed = fail_closed
        self._slot_ttl = slot_ttl
        self._recheck_after = recheck_after
        self._clock = clock
        self._calls = Batcher(functools.partial(link_for, client), PROCEDURES, PRELUDE)
        # Slot ids: unique across replicas by a random prefix, then counted (a uuid4 per
        # call cost a sixth of a decision).
        self._slot_prefix = secrets.token_hex(6) + "-"
        self._slot_numbers = itertools.count()
        self._down = False  # an outage has been logged and not yet seen to end
        self._retry_at = 0.0  # while down, Redis is not tried before this (on `clock`)
        self._pending: deque[tuple[RedisTicket, int]] = deque(maxlen=MAX_PENDING_SETTLES)
        self._wires: dict[str, Wire] = {}
        self._slot_ttl_text = repr(float(slot_ttl))

    def admit(self, scopes: tuple[LimitScope, ...], demand: Demand) -> Awaitable[Admission]:
        """While Redis is up and no missed settle waits for it, the decision is queued for
        the next batch at once and a future is returned, answered from the reply (a call's
        admission needs no task of its own); otherwise a task runs `_admit`."""
        if self._pending or self._skipping():
            return asyncio.ensure_future(self._admit(scopes, demand))
        loop = asyncio.get_running_loop()
        outcome: asyncio.Future[Admission] = loop.create_future()
        decision = plan(scopes, demand)
        answer = self._answer_at_once(decision)
        if answer is not None:
            outcome.set_result(answer)
            return outcome
        slot_id, sent = self._decision_call(decision)
        sent.add_done_callback(
            functools.partial(self._decided, scopes, demand, decision, slot_id, outcome)
        )
        return outcome

    def _decided(
        self,
        scopes: tuple[LimitScope, ...],
        demand: Demand,
        decision: Plan,
        slot_id: str,
        outcome: asyncio.Future[Admission],
        sent: asyncio.Future[str],
    ) -> None:
        error = None if sent.cancelled() else sent.exception()
        if isinstance(error, UNREACHABLE):
            self._went_down(error)
            without = asyncio.ensure_future(self._without_redis(scopes, demand))
            without.add_done_callback(functools.partial(_pass_on, outcome))
            return
        if error is None:
            self._came_back()
            try:
                answer = self._answer(decision, slot_id, sent.result())
            except Exception as failure:
                error = failure
        if outcome.done():
            return
        if error is None:
            outcome.set_result(answer)
        else:
            outcome.set_exception(error)

    async def _admit(self, scopes: tuple[LimitScope, ...], demand: Demand) -> Admission:
        decision = plan(scopes, demand)
        answer = self._answer_at_once(decision)
        if answer is not None:
            return answer
        if not self._skipping():
            try:
                if self._pending:
                    await self._replay_pending()
                answer = await self._decide(decision)
            except UNREACHABLE as exc:
                self._went_down(exc)
            else:
                self._came_back()
                return answer
        return await self._without_redis(scopes, demand)

    def _answer_at_once(self, decision: Plan) -> Admission | None:
        """The answer to a call Redis need not be asked about: one that nothing limits, or
        one no state could let pass."""
        if decision.empty:
            return Admission(admitted=True, ticket=self._ticket(decision, "", 0))
        oversized = too_large(decision)
        if oversized is not None:  # whatever Redis holds, the call cannot pass
            kind, what = oversized
            return Admission(admitted=False, refused=kind, too_large=what)
        return None

    async def _without_redis(self, scopes: tuple[LimitScope, ...], demand: Demand) -> Admission:
        if self._fail_closed:
            raise Overloaded(OVERLOADED_MESSAGE, retry_after=1.0)
        if self._fallback is None:
            return Admission(admitted=True, ticket=FallbackTicket(None))
        answer = await self._fallback.admit(scopes, demand)
        if answer.admitted:
            answer = answer._replace(ticket=FallbackTicket(answer.ticket))
        return answer

    def settle(self, ticket: object, tokens_used: int) -> Awaitable[None]:
        """While Redis is up and no missed settle waits for it, the settle is queued for the
        next batch at once and a future is returned (a call's settle needs no task of its
        own); otherwise a task runs `_settle`."""
        if (
            isinstance(ticket, RedisTicket)
            and not ticket.settled
            and not self._pending
            and not self._skipping()
        ):
            ticket.settled = True
            loop = asyncio.get_running_loop()
            outcome: asyncio.Future[None] = loop.create_future()
            if not ticket.slot_keys and all(cost == tokens_used for cost in ticket.costs):
                outcome.set_result(None)
                return outcome
            sent = self._settle_call(ticket, tokens_used)
            sent.add_done_callback(functools.partial(self._settled, ticket, tokens_used, outcome))
            return outcome
        return asyncio.ensure_future(self._settle(ticket, tokens_used))

    def _settled(
        self,
        ticket: RedisTicket,
        tokens_used: int,
        outcome: asyncio.Future[None],
        sent: asyncio.Future[str],
    ) -> None:
        error = None if sent.cancelled() else sent.exception()
        if isinstance(error, UNREACHABLE):
            self._went_down(error)
            self._pending.append((ticket, tokens_used))
            error = None
        elif error is None:
            self._came_back()
        if outcome.done():  # its caller went away
            return
        if error is None:
            outcome.set_result(None)
        else:
            outcome.set_exception(error)

    async def _settle(self, ticket: object, tokens_used: int) -> None:
        if isinstance(ticket, FallbackTicket):
            if ticket.inner is not None and self._fallback is not None:
                await self._fallback.settle(ticket.inner, tokens_used)
            return
        if not isinstance(ticket, RedisTicket):
            raise TypeError(f"not a ticket of this limiter: {ticket!r}")
        if ticket.settled:
            return
        ticket.settled = True
        if not ticket.slot_keys and all(cost == tokens_used for cost in ticket.costs):
            return
        if self._skipping():
            self._pending.append((ticket, tokens_used))
            return
        try:
            if self._pending:
                await self._replay_pending()
            await self._run_settle(ticket, tokens_used)
        except UNREACHABLE as exc:
            self._went_down(exc)
            self._pending.append((ticket, tokens_used))
        else:
            self._came_back()

    async def close(self) -> None:
        try:
            try:
                await self._calls.close()
            finally:
                await self._client.aclose()
        finally:
            if self._fallback is not None:
                await self._fallback.close()

    def _wire(self, counter: Counter) -> Wire:
        """A bucket as the script reads it: made once per bucket, not per call."""
        wire = self._wires.get(counter.key)
        if wire is None or wire[0] is not counter.bucket:
            if len(self._wires) >= WIRES_KEPT:
                self._wires.clear()
            bucket = counter.bucket
            wire = self._wires[counter.key] = (
                bucket,
                self._prefix + counter.key,
                repr(bucket.interval),
                repr(gcra.slack(bucket, 1)),
            )
        return wire

    async def _decide(self, decision: Plan) -> Admission:
        slot_id, sent = self._decision_call(decision)
        return self._answer(decision, slot_id, await sent)

    def _decision_call(self, decision: Plan) -> tuple[str, asyncio.Future[str]]:
        """The decision queued for the next batch: its slot id, and its reply to come."""
        slot_id = f"{self._slot_prefix}{next(self._slot_numbers)}"
        keys: list[str] = []
        words = [
            str(len(decision.counters)),
            str(len(decision.budgets)),
            str(len(decision.slots)),
            slot_id,
            self._slot_ttl_text,
        ]
        for counter in decision.counters:
            bucket, key, interval, one_unit = self._wire(counter)
            keys.append(key)
            units = counter.units
            slack = one_unit if units == 1 else repr(gcra.slack(bucket, units))
            words += (interval, slack, str(counter.cost))
        for b in decision.budgets:
            keys.append(self._prefix + b.key)
            words += (str(b.limit), str(b.cost))
        for slot in decision.slots:
            keys.append(self._prefix + slot.key)
            words.append(str(slot.limit))
        return slot_id, self._calls.call_nowait(ADMIT, keys, " ".join(words))

    def _answer(self, decision: Plan, slot_id: str, text: str) -> Admission:
        """The admission the script's reply says."""
        reply = text.split()
        nc, nb = len(decision.counters), len(decision.budgets)
        now = float(reply[1])
        tats = [float(x) for x in reply[2 : 2 + nc]]
        conforming = [int(x) == 1 for x in reply[2 + nc : 2 + 2 * nc]]
        used = [round(float(x)) for x in reply[2 + 2 * nc : 2 + 2 * nc + nb]]
        counts = [int(x) for x in reply[2 + 2 * nc + nb :]]
        requests, tokens = allowances(decision, tats, now)
        if int(reply[0]) == 1:
            return Admission(
                admitted=True,
                ticket=self._ticket(decision, slot_id, budget.day_of(now)),
                requests=requests,
                tokens=tokens,
            )
        budgets_fit = [
            budget.fits(b.limit, u, b.cost) for b, u in zip(decision.budgets, used, strict=True)
        ]
        slots_free = [n < s.limit for n, s in zip(counts, decision.slots, strict=True)]
        refused = refusal(decision, tats, conforming, slots_free, now, budgets_fit)
        if refused is None:  # the script refuses only what the reply shows refusing
            raise RuntimeError(f"the rate limit script refused without a reason: {reply!r}")
        kind, wait = refused
        return Admission(
            admitted=False, refused=kind, retry_after=wait, requests=requests, tokens=tokens
        )

    def _ticket(self, decision: Plan, slot_id: str, day: int) -> RedisTicket:
        token_counters = decision.token_counters
        return RedisTicket(
            token_keys=tuple(self._wire(c)[1] for c in token_counters),
            token_intervals=tuple(c.bucket.interval for c in token_counters),
            token_costs=tuple(c.cost for c in token_counters),
            slot_keys=tuple(self._prefix + s.key for s in decision.slots),
            slot_id=slot_id,
            budget_keys=tuple(self._prefix + b.key for b in decision.budgets),
            budget_costs=tuple(b.cost for b in decision.budgets),
            day=day,
        )

    async def _run_settle(self, ticket: RedisTicket, tokens_used: int) -> None:
        await self._settle_call(ticket, tokens_used)

    def _settle_call(self, ticket: RedisTicket, tokens_used: int) -> asyncio.Future[str]:
        args: list[str | int] = [
            len(ticket.token_keys),
            len(ticket.budget_keys),
            len(ticket.slot_keys),
            ticket.slot_id,
            ticket.day,
        ]
        for interval, cost in zip(ticket.token_intervals, ticket.token_costs, strict=True):
            args += [repr(interval), str(tokens_used - cost)]
        args += [str(tokens_used - cost) for cost in ticket.budget_costs]
        keys = [*ticket.token_keys, *ticket.budget_keys, *ticket.slot_keys]
        return self._calls.call_nowait(SETTLE, keys, " ".join(map(str, args)))

    async def _replay_pending(self) -> None:
        """Settles that could not reach Redis, now that it may be back. One that cannot reach
        it again goes back to the front and the error on to the caller; one that Redis refuses
        is dropped, so that it cannot stop every call after it."""
        while self._pending:
            ticket, tokens_used = self._pending.popleft()
            try:
                await self._run_settle(ticket, tokens_used)
            except Exception as exc:
                if isinstance(exc, UNREACHABLE):
                    self._pending.appendleft((ticket, tokens_used))
                    raise
                log.warning("Rate limits: a settle replayed to Redis failed, dropped: %r", exc)
            except BaseException:  # cancelled: not done, keep it
                self._pending.appendleft((ticket, tokens_used))
                raise

    def _skipping(self) -> bool:
        return self._down and self._clock() < self._retry_at

    def _went_down(self, exc: BaseException) -> None:
        self._retry_at = self._clock() + self._recheck_after
        if self._down:
            return
        self._down = True
        if self._fail_closed:
            then = "refusing calls until it is back"
        elif self._fallback is not None:
            then = "limiting in-process until it is back"
        else:
            then = "not limiting calls until it is back"
        log.warning("Rate limits: Redis is unreachable (%r); %s", exc, then)

    def _came_back(self) -> None:
        if self._down:
            self._down = False
            log.warning("Rate limits: Redis is reachable again")

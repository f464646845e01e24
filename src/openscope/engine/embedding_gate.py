"""The embeddings API under the platform, as the admit and meter stages put generation
under it.

Limits: a checked request is counted in the same rate limits as a generation
(`engine.admission`: the account's, the workspace's and the key's, per model), its texts'
tokens as its token demand. Those are known exactly before the model runs (the service
counts them to check each row), so the reservation is the count, settled to the tokens the
model reports having read. A refused request leaves the refusal record every refusal does
(`on_refusal` of the admissions).

Ledger: every admitted request leaves one record in the usage sink (the ledger, the
metrics, the request log): "ok" with the tokens its answer's `usage` reports, the error
code its client is told when the model fails, "cancelled" when the client hangs up. A
request that did not end well is recorded with no tokens: no vectors were delivered (its
tokens still count against the limits: the model read them all the same)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from openscope.core import ids
from openscope.core.billing import CANCELLED, OK, Price, usage_record
from openscope.core.embedding_service import Embedded, EmbeddingsRun
from openscope.core.events import Usage
from openscope.core.knowledge import Embeddings
from openscope.core.quota import Demand
from openscope.engine.admission import Admissions, LimitedCall
from openscope.engine.stages.meter import UsageSink, failure_status, to_ms

log = logging.getLogger("openscope.usage")

API = "embeddings"  # the API's name in the ledger, the metrics and the refusal records


class EmbeddingGate:
    """An `EmbeddingsGate` over the platform's `admissions` (None: no limits) and its
    `usage` sink (None: nothing recorded). `prices` by the model name the client asked
    for; `clock` (seconds since the epoch) dates the records, `monotonic` times them."""

    def __init__(
        self,
        admissions: Admissions | None,
        usage: UsageSink | None = None,
        *,
        prices: Mapping[str, Price] | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._admissions = admissions
        self._usage = usage
        self._prices = dict(prices or {})
        self._clock = clock
        self._monotonic = monotonic

    async def __call__(
        self, run: EmbeddingsRun, embed: Callable[[], Awaitable[Embeddings]]
    ) -> Embedded:
        admissions = self._admissions
        # Embedding models are not in the catalogue: their account limits are the
        # settings' alone.
        scopes = () if admissions is None else admissions.scopes(run.principal, run.model, None)
        if admissions is None or not scopes:
            return Embedded(await self._metered(run, embed))
        call = LimitedCall(run.principal, run.model, API, run.request_id)
        admission = await admissions.admit(call, scopes, Demand(tokens=run.tokens))
        # Settled to the counted tokens unless the model says otherwise: a call that failed
        # or was cut short had its texts read all the same (a client hanging up does not
        # get its tokens back).
        used = run.tokens
        try:
            result = await self._metered(run, embed)
            used = result.tokens
        finally:
            await admissions.settle(admission.ticket, used)
        return Embedded(result, admission.requests, admission.tokens)

    async def _metered(
        self, run: EmbeddingsRun, embed: Callable[[], Awaitable[Embeddings]]
    ) -> Embeddings:
        if self._usage is None:
            return await embed()
        created_at = self._clock()
        started = self._monotonic()
        status = CANCELLED  # unless the model answers or fails
        tokens = 0
        try:
            result = await embed()
            status, tokens = OK, result.tokens
            return result
        except Exception as error:
            status = failure_status(error)
            raise
        finally:
            self._record(run, status, tokens, created_at, started)

    def _record(
        self, run: EmbeddingsRun, status: str, tokens: int, created_at: float, started: float
    ) -> None:
        """Hand the record to the sink; the ledger failing never fails the request."""
        assert self._usage is not None
        try:
            self._usage.record_nowait(
                usage_record(
                    request_id=run.request_id or ids.request_id(),
                    created_at_ms=to_ms(created_at),
                    workspace=run.principal.workspace,
                    key_id=run.principal.key_id,
                    model=run.model,
                    api=API,
                    status=status,
                    usage=Usage(input_tokens=tokens),
                    price=self._prices.get(run.model),
                    latency_ms=to_ms(self._monotonic() - started),
                )
            )
        except Exception:
            log.exception("could not record the usage of request %s", run.request_id)

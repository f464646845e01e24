"""The embeddings API under the platform: a checked request is counted in the same rate
limits as a generation (`engine.admission`: the account's, the workspace's and the key's,
per model), its texts' tokens as its token demand. Those are known exactly before the
model runs (the service counts them to check each row), so the reservation is the count,
settled to the tokens the model reports having read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from openscope.core.embedding_service import Embedded, EmbeddingsRun
from openscope.core.knowledge import Embeddings
from openscope.core.quota import Demand
from openscope.engine.admission import Admissions, LimitedCall

API = "embeddings"  # the API's name in the ledger, the metrics and the refusal records


class EmbeddingGate:
    """An `EmbeddingsGate` over the platform's `admissions`."""

    def __init__(self, admissions: Admissions) -> None:
        self._admissions = admissions

    async def __call__(
        self, run: EmbeddingsRun, embed: Callable[[], Awaitable[Embeddings]]
    ) -> Embedded:
        # Embedding models are not in the catalogue: their account limits are the
        # settings' alone.
        scopes = self._admissions.scopes(run.principal, run.model, None)
        if not scopes:
            return Embedded(await embed())
        call = LimitedCall(run.principal, run.model, API, run.request_id)
        admission = await self._admissions.admit(call, scopes, Demand(tokens=run.tokens))
        # Settled to the counted tokens unless the model says otherwise: a call that failed
        # or was cut short had its texts read all the same (a client hanging up does not
        # get its tokens back).
        used = run.tokens
        try:
            result = await embed()
            used = result.tokens
        finally:
            await self._admissions.settle(admission.ticket, used)
        return Embedded(result, admission.requests, admission.tokens)

"""Model Studio's ranges for the sampling parameters, the same in every API.

They do not depend on the model, so each protocol applies them as it decodes, before a
model is resolved: a bad value is refused even when the model name is wrong too, as Model
Studio does. Parameters an API does not have are unset there and pass.
"""

from __future__ import annotations

from dataclasses import replace

from openscope.core.request import SamplingParams
from openscope.core.rules.fields import Field
from openscope.core.rules.refusal import Refusal
from openscope.core.rules.wording import Wording

TEMPERATURE_MIN = 0.0
TEMPERATURE_MAX = 2.0  # exclusive
TOP_P_MIN = 0.0  # exclusive
TOP_P_MAX = 1.0
PRESENCE_PENALTY_MIN = -2.0
PRESENCE_PENALTY_MAX = 2.0
MAX_N = 4
SEED_MAX = 2**31 - 1
MAX_TOP_LOGPROBS = 5
# Model Studio: a top_k above 100 turns the top-k strategy off, as 0 does.
TOP_K_DISABLED_ABOVE = 100


def checked_sampling(sampling: SamplingParams) -> SamplingParams:
    """Raise a `Refusal` for the first value out of range; return the parameters as the
    model will sample with them (a top_k above 100 becomes 0, top-k off)."""
    if sampling.temperature is not None and not (
        TEMPERATURE_MIN <= sampling.temperature < TEMPERATURE_MAX
    ):
        raise Refusal(
            Wording.TEMPERATURE_RANGE, Field.TEMPERATURE, low=TEMPERATURE_MIN, high=TEMPERATURE_MAX
        )
    if sampling.top_p is not None and not TOP_P_MIN < sampling.top_p <= TOP_P_MAX:
        raise Refusal(Wording.HALF_OPEN_RANGE, Field.TOP_P, low=TOP_P_MIN, high=TOP_P_MAX)
    if sampling.top_k is not None and sampling.top_k < 0:
        raise Refusal(Wording.NOT_NEGATIVE, Field.TOP_K)
    presence = sampling.presence_penalty
    if presence is not None and not PRESENCE_PENALTY_MIN <= presence <= PRESENCE_PENALTY_MAX:
        raise Refusal(
            Wording.PRESENCE_PENALTY_RANGE,
            Field.PRESENCE_PENALTY,
            low=PRESENCE_PENALTY_MIN,
            high=PRESENCE_PENALTY_MAX,
        )
    if not 1 <= sampling.n <= MAX_N:
        raise Refusal(Wording.INCLUSIVE_RANGE, Field.N, low=1, high=MAX_N)
    if sampling.seed is not None and not 0 <= sampling.seed <= SEED_MAX:
        raise Refusal(Wording.INCLUSIVE_RANGE, Field.SEED, low=0, high=SEED_MAX)
    if not 0 <= sampling.top_logprobs <= MAX_TOP_LOGPROBS:
        raise Refusal(Wording.INCLUSIVE_RANGE, Field.TOP_LOGPROBS, low=0, high=MAX_TOP_LOGPROBS)
    if sampling.top_k is not None and sampling.top_k > TOP_K_DISABLED_ABOVE:
        return replace(sampling, top_k=0)
    return sampling

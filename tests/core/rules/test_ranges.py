import pytest

from openscope.core.errors import InvalidParameter
from openscope.core.request import SamplingParams
from openscope.core.rules import Field
from openscope.core.rules.ranges import checked_sampling


@pytest.mark.parametrize(
    ("sampling", "message", "field"),
    [
        (SamplingParams(temperature=2.0), "Temperature should be in [0.0, 2.0)", Field.TEMPERATURE),
        (
            SamplingParams(temperature=-0.1),
            "Temperature should be in [0.0, 2.0)",
            Field.TEMPERATURE,
        ),
        (SamplingParams(top_p=0.0), "Range of top_p should be (0.0, 1.0]", Field.TOP_P),
        (SamplingParams(top_p=1.01), "Range of top_p should be (0.0, 1.0]", Field.TOP_P),
        (
            SamplingParams(top_k=-1),
            "Parameter top_k be greater than or equal to 0",
            Field.TOP_K,
        ),
        (
            SamplingParams(presence_penalty=-2.5),
            "Presence_penalty should be in [-2.0, 2.0]",
            Field.PRESENCE_PENALTY,
        ),
        (SamplingParams(n=0), "Range of n should be [1, 4]", Field.N),
        (SamplingParams(n=5), "Range of n should be [1, 4]", Field.N),
        (SamplingParams(seed=2**31), "Range of seed should be [0, 2147483647]", Field.SEED),
        (
            SamplingParams(top_logprobs=6),
            "Range of top_logprobs should be [0, 5]",
            Field.TOP_LOGPROBS,
        ),
    ],
)
def test_out_of_range(sampling: SamplingParams, message: str, field: Field) -> None:
    with pytest.raises(InvalidParameter) as caught:
        checked_sampling(sampling)
    assert (caught.value.message, caught.value.param) == (message, field)


def test_the_edges_are_accepted() -> None:
    edges = SamplingParams(
        temperature=0.0, top_p=1.0, top_k=0, presence_penalty=2.0, seed=0, n=4, top_logprobs=5
    )
    assert checked_sampling(edges) == edges
    assert checked_sampling(SamplingParams()) == SamplingParams()


@pytest.mark.parametrize(("asked", "sampled"), [(100, 100), (101, 0), (10_000, 0), (None, None)])
def test_top_k_above_100_turns_top_k_off(asked: int | None, sampled: int | None) -> None:
    assert checked_sampling(SamplingParams(top_k=asked)).top_k == sampled

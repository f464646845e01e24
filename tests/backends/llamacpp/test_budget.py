"""How many tokens each choice may write: max_tokens, capped by the context and, with
n > 1, by the KV cells all choices share. No model is loaded."""

import pytest

from openscope.backends.llamacpp import LlamaCppBackend
from openscope.core.errors import InvalidParameter
from openscope.core.messages import Message, Role, TextPart
from openscope.core.request import GenerateRequest, SamplingParams


def request(**sampling: object) -> GenerateRequest:
    return GenerateRequest(
        "m",
        (Message(Role.USER, (TextPart("hi"),)),),
        sampling=SamplingParams(**sampling),  # type: ignore[arg-type]
    )


BACKEND = LlamaCppBackend(ctx_per_seq=4096, kv_tokens=8192, cache_tokens=1024)


def test_max_tokens_is_capped_by_the_context() -> None:
    assert BACKEND._answer_budget(request(), 100, False) == 3996
    assert BACKEND._answer_budget(request(max_tokens=50), 100, False) == 50


def test_n_choices_without_max_tokens_share_what_the_cells_hold() -> None:
    assert BACKEND._answer_budget(request(n=4), 100, False) == (8192 - 100) // 4


def test_n_choices_whose_max_tokens_cannot_fit_are_refused() -> None:
    with pytest.raises(InvalidParameter) as caught:
        BACKEND._answer_budget(request(n=4, max_tokens=3000), 100, False)
    assert caught.value.param == "max_tokens"
    assert "8192" in caught.value.message
    assert BACKEND._answer_budget(request(n=4, max_tokens=2000), 100, False) == 2000

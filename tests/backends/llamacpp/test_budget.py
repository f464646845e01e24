"""How many tokens each choice may write: max_tokens on the answer alone, thinking_budget
on the thinking, both capped by the context and, with n > 1, by the KV cells all choices
share. No model is loaded."""

import pytest

from openscope.backends.llamacpp import LlamaCppBackend
from openscope.backends.llamacpp.choice import TokenBudget
from openscope.core.errors import InvalidParameter
from openscope.core.messages import Message, Role, TextPart
from openscope.core.request import GenerateRequest, SamplingParams, ThinkingConfig


def request(thinking: ThinkingConfig | None = None, **sampling: object) -> GenerateRequest:
    return GenerateRequest(
        "m",
        (Message(Role.USER, (TextPart("hi"),)),),
        sampling=SamplingParams(**sampling),  # type: ignore[arg-type]
        thinking=thinking or ThinkingConfig(),
    )


BACKEND = LlamaCppBackend(ctx_per_seq=4096, kv_tokens=8192, cache_tokens=1024)
THINKER = LlamaCppBackend(ctx_per_seq=4096, kv_tokens=8192, cache_tokens=1024, reasoning=True)


def test_max_tokens_is_capped_by_the_context() -> None:
    assert BACKEND._token_budget(request(), 100) == TokenBudget(3996)
    assert BACKEND._token_budget(request(max_tokens=50), 100) == TokenBudget(50, answer=50)


def test_n_choices_without_max_tokens_share_what_the_cells_hold() -> None:
    assert BACKEND._token_budget(request(n=4), 100).total == (8192 - 100) // 4


def test_n_choices_whose_max_tokens_cannot_fit_are_refused() -> None:
    with pytest.raises(InvalidParameter) as caught:
        BACKEND._token_budget(request(n=4, max_tokens=3000), 100)
    assert caught.value.param == "max_tokens"
    assert "8192" in caught.value.message
    assert BACKEND._token_budget(request(n=4, max_tokens=2000), 100).total == 2000


def test_max_tokens_does_not_limit_the_thinking() -> None:
    unbounded = THINKER._token_budget(request(ThinkingConfig(enabled=True), max_tokens=50), 100)
    assert unbounded == TokenBudget(3996, answer=50)
    bounded = ThinkingConfig(enabled=True, budget_tokens=300)
    assert THINKER._token_budget(request(bounded, max_tokens=50), 100) == TokenBudget(
        350, answer=50
    )


def test_thinking_off_leaves_max_tokens_the_whole_budget() -> None:
    off = ThinkingConfig(enabled=False, budget_tokens=300)
    assert THINKER._token_budget(request(off, max_tokens=50), 100) == TokenBudget(50, answer=50)


def test_thinking_and_answer_that_cannot_fit_n_times_are_refused() -> None:
    thinking = ThinkingConfig(enabled=True, budget_tokens=1500)
    with pytest.raises(InvalidParameter) as caught:
        THINKER._token_budget(request(thinking, n=4, max_tokens=1000), 100)
    assert "thinking_budget" in caught.value.message

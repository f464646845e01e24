"""The engine's greedy picks: one vectorised pass over a decode's logits must choose the
very token llama.cpp's greedy sampler chooses for each sequence, on the real model's
logits, and each output's row must be the one llama_get_logits_ith points at."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from openscope.backends.llamacpp.context import DECODE_OK, LlamaBatchContext
from openscope.backends.llamacpp.model_file import embedded_model_path
from openscope.backends.llamacpp.sampling import (
    ResolvedSampling,
    Sampler,
    build_chain,
    greedy_pick,
    greedy_picks,
)

GREEDY = ResolvedSampling(temperature=0.0, top_p=1.0, top_k=0, presence_penalty=0.0, seed=1)
SEQUENCES = 6
STEPS = 24


@pytest.fixture(scope="module")
def model() -> Iterator[Any]:
    from llama_cpp import llama_cpp as lib
    from llama_cpp._internals import LlamaModel

    lib.llama_backend_init()
    loaded = LlamaModel(
        path_model=str(embedded_model_path()),
        params=lib.llama_model_default_params(),
        verbose=False,
    )
    yield loaded
    loaded.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def context(model: Any) -> Iterator[LlamaBatchContext]:
    ctx = LlamaBatchContext(model, n_ctx=4096, n_batch=512, n_seq_max=SEQUENCES + 1, n_threads=2)
    yield ctx
    ctx.close()


def logits_ith(ctx: LlamaBatchContext, idx: int, n_vocab: int) -> Any:
    from llama_cpp import llama_cpp as lib

    pointer = lib.llama_get_logits_ith(ctx.context.ctx, idx)
    return np.ctypeslib.as_array(pointer, shape=(n_vocab,)).copy()


def test_batched_greedy_picks_are_llama_cpp_greedy_picks(
    model: Any, context: LlamaBatchContext
) -> None:
    n_vocab = model.n_vocab()
    texts = [
        "The capital of France is",
        "def fibonacci(n):",
        "1, 2, 3, 4,",
        "Roses are red, violets are",
        "<html><body>",
        "Dear Sir or Madam,",
    ]
    prompts = [list(model.tokenize(t.encode(), True, False)) for t in texts[:SEQUENCES]]
    chains = [build_chain(GREEDY, n_vocab) for _ in range(SEQUENCES)]
    # One batch with every prompt whole; outputs at each prompt's last token, and one in
    # the middle of the first prompt that no sequence reads. In every later step a filler
    # sequence's token, which asks for no logits, comes first. So an output's row is
    # never its batch index.
    entries = [
        (token, pos, seq, pos == len(prompt) - 1 or (seq == 0 and pos == 1))
        for seq, prompt in enumerate(prompts)
        for pos, token in enumerate(prompt)
    ]
    assert context.decode(entries) == DECODE_OK
    outputs = [i for i, entry in enumerate(entries) if entry[3]][1:]  # the sequences' own
    positions = [len(p) for p in prompts]
    seen: set[int] = set()
    for step in range(STEPS):
        picks = context.greedy(outputs)
        for seq, (idx, pick) in enumerate(zip(outputs, picks, strict=True)):
            assert np.array_equal(context.logits(idx), logits_ith(context, idx, n_vocab))
            assert pick == chains[seq].sample(context.context, idx)
            seen.add(pick)
        filler = (prompts[0][0], step, SEQUENCES, False)
        feeds = [(pick, positions[seq], seq, True) for seq, pick in enumerate(picks)]
        assert all(pick is not None for pick in picks)
        assert context.decode([filler, *feeds]) == DECODE_OK  # type: ignore[list-item]
        positions = [p + 1 for p in positions]
        outputs = list(range(1, SEQUENCES + 1))
    assert len(seen) > SEQUENCES  # the sequences went their own ways


def test_a_greedy_choice_takes_the_first_of_equal_highest_logits() -> None:
    row = np.array([0.5, 2.0, -np.inf, 2.0, 1.0], dtype=np.float32)
    assert greedy_pick(row) == 1
    masked = np.full(5, -np.inf, dtype=np.float32)
    assert greedy_pick(masked) == 0  # llama.cpp's greedy sampler starts at the first
    assert greedy_picks(np.stack([row, masked, row[::-1].copy()])) == [1, 0, 1]


def test_a_nan_row_is_left_to_the_sampler_chain() -> None:
    class Chain:
        def sample(self, ctx: Any, idx: int) -> int:
            return 3

    row = np.array([0.5, np.nan, 2.0, 9.0], dtype=np.float32)
    assert greedy_pick(row) is None
    assert greedy_picks(np.stack([row, np.zeros(4, dtype=np.float32)])) == [None, 0]
    assert Sampler(Chain(), greedy=True).sample(None, 0, row) == 3
    assert Sampler(Chain(), greedy=True).sample(None, 0, np.zeros(4, dtype=np.float32)) == 0

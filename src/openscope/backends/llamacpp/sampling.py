"""Per-request sampling over llama.cpp's sampler chain, and log-probabilities read from the
model's raw logits (before any sampling transform, as OpenAI reports them)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from openscope.core.request import SamplingParams

# Used when neither the request nor the model's catalogue entry sets a value: the values
# Model Studio's Qwen models default to.
DEFAULT_TEMPERATURE = 0.7
DEFAULT_TOP_P = 0.8


@dataclass(frozen=True, slots=True)
class ResolvedSampling:
    temperature: float
    top_p: float
    top_k: int  # 0: off
    presence_penalty: float
    seed: int

    @classmethod
    def of(cls, params: SamplingParams, choice: int) -> ResolvedSampling:
        # Each of n choices is an independent sample: with a seed, choice i draws from
        # seed + i, so the whole set is reproducible and no two choices share a stream.
        base = params.seed if params.seed is not None else secrets.randbelow(2**31)
        return cls(
            temperature=DEFAULT_TEMPERATURE if params.temperature is None else params.temperature,
            top_p=DEFAULT_TOP_P if params.top_p is None else params.top_p,
            top_k=params.top_k or 0,
            presence_penalty=params.presence_penalty or 0.0,
            seed=(base + choice) % 2**32,
        )


def build_sampler(sampling: ResolvedSampling, n_vocab: int) -> Any:
    from llama_cpp._internals import LlamaSampler

    sampler: Any = LlamaSampler()  # type: ignore[no-untyped-call]
    if sampling.presence_penalty:
        # Only generated tokens are accepted into the chain, so the penalty looks at the
        # answer, not the prompt, as Model Studio documents.
        sampler.add_penalties(
            n_vocab=n_vocab,
            penalty_last_n=-1,
            penalty_repeat=1.0,
            penalty_freq=0.0,
            penalty_present=sampling.presence_penalty,
        )
    if sampling.temperature == 0.0:
        sampler.add_greedy()
        return sampler
    if sampling.top_k > 0:
        sampler.add_top_k(sampling.top_k)
    if sampling.top_p < 1.0:
        sampler.add_top_p(sampling.top_p, 1)
    sampler.add_temp(sampling.temperature)
    sampler.add_dist(sampling.seed)
    return sampler


def log_softmax(logits: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    shifted = logits - np.max(logits)
    result: npt.NDArray[np.float32] = shifted - np.log(np.sum(np.exp(shifted)))
    return result


def top_indices(logprobs: npt.NDArray[np.float32], k: int) -> list[int]:
    if k <= 0:
        return []
    candidates = np.argpartition(-logprobs, k)[:k]
    return [int(i) for i in candidates[np.argsort(-logprobs[candidates])]]

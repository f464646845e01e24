"""Grammar overhead: decode speed of constrained generation (a strict json_schema answer, a
forced tool call) against unconstrained generation from the same prompt, on the embedded
model, in-process through `LlamaCppBackend`.

    .venv/bin/python bench/grammar.py                 # 128 tokens, 3 runs after a warm-up
    .venv/bin/python bench/grammar.py --tokens 128 --runs 5 --threads 2

Each case runs once to warm up (the prompt's KV is then reused, as the engine does for a
repeated prefix), then `--runs` times, greedily, always to the token limit: the schemas ask
for more items than fit in `--tokens`, so constrained and free runs decode the same number
of tokens. A run's rate is its decoded tokens over its wall time; the median is compared.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from dataclasses import dataclass

from openscope.backends.llamacpp import LlamaCppBackend
from openscope.core.events import ChoiceEnd, UsageReport
from openscope.core.messages import Message, Role, TextPart
from openscope.core.request import (
    GenerateRequest,
    ResponseFormat,
    ResponseFormatType,
    SamplingParams,
    ToolChoice,
    ToolChoiceMode,
    ToolSpec,
)

MODEL = "smollm2-135m-instruct"
PROMPT = (
    "Describe thirty people of a small town in detail: for each one give a name, an age, a "
    "city and up to three hobbies chosen from reading, hiking, chess and music."
)
PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "city": {"type": "string"},
        "hobbies": {
            "type": "array",
            "items": {"type": "string", "enum": ["reading", "hiking", "chess", "music"]},
            "maxItems": 3,
        },
    },
    "required": ["name", "age", "city", "hobbies"],
    "additionalProperties": False,
}
# More people than 128 tokens can hold: a constrained run never ends before the limit.
PEOPLE = {
    "type": "object",
    "properties": {"people": {"type": "array", "items": PERSON, "minItems": 30}},
    "required": ["people"],
    "additionalProperties": False,
}
TOOL = ToolSpec(
    name="save_people",
    description="Save a list of people to the address book",
    parameters=PEOPLE,
)


@dataclass(frozen=True)
class Case:
    label: str
    request: GenerateRequest


@dataclass(frozen=True)
class Run:
    tokens: int
    seconds: float
    finish: str

    @property
    def rate(self) -> float:
        return self.tokens / self.seconds


def request(tokens: int, **fields: object) -> GenerateRequest:
    return GenerateRequest(
        model=MODEL,
        messages=(Message(Role.USER, (TextPart(PROMPT),)),),
        sampling=SamplingParams(temperature=0.0, seed=1, max_tokens=tokens),
        **fields,  # type: ignore[arg-type]
    )


def cases(tokens: int) -> list[tuple[Case, Case]]:
    """(unconstrained, constrained) pairs that share a prompt."""
    schema = ResponseFormat(ResponseFormatType.JSON_SCHEMA, name="people", schema=PEOPLE)
    return [
        (
            Case("free text", request(tokens)),
            Case("json_schema response_format", request(tokens, response_format=schema)),
        ),
        (
            Case("free text, tool offered (auto)", request(tokens, tools=(TOOL,))),
            Case(
                "forced tool call (named)",
                request(
                    tokens,
                    tools=(TOOL,),
                    tool_choice=ToolChoice(ToolChoiceMode.NAMED, name=TOOL.name),
                ),
            ),
        ),
    ]


async def once(backend: LlamaCppBackend, case: Case) -> Run:
    tokens, finish = 0, "?"
    started = time.perf_counter()
    async for event in backend.generate(case.request, MODEL):
        if isinstance(event, UsageReport):
            tokens = event.usage.output_tokens
        elif isinstance(event, ChoiceEnd):
            finish = str(event.finish_reason)
    return Run(tokens, time.perf_counter() - started, finish)


async def measure(backend: LlamaCppBackend, case: Case, runs: int) -> float:
    await once(backend, case)  # warm-up: loads the prompt's KV, pages the weights in
    results = [await once(backend, case) for _ in range(runs)]
    rates = ", ".join(f"{r.rate:6.1f}" for r in results)
    print(
        f"  {case.label:<32} {rates} tok/s  "
        f"({results[0].tokens} tokens, finish {results[0].finish})",
        flush=True,
    )
    return statistics.median(r.rate for r in results)


async def bench(tokens: int, runs: int, threads: int) -> list[tuple[str, float, float]]:
    backend = LlamaCppBackend(n_threads=threads)
    await backend.start()
    ratios = []
    try:
        for free, constrained in cases(tokens):
            free_rate = await measure(backend, free, runs)
            constrained_rate = await measure(backend, constrained, runs)
            ratios.append((constrained.label, free_rate, constrained_rate))
    finally:
        await backend.close()
    return ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    print(
        f"grammar overhead, {MODEL} in-process, {args.tokens} tokens, greedy, "
        f"{args.runs} runs after a warm-up, {args.threads} threads"
    )
    results = asyncio.run(bench(args.tokens, args.runs, args.threads))
    for label, free_rate, constrained_rate in results:
        print(
            f"grammar overhead ratio, {label}: {constrained_rate / free_rate:.2f} "
            f"(constrained {constrained_rate:.1f} / unconstrained {free_rate:.1f} tok/s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

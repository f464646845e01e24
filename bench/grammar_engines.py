"""Which grammar engine constrains the embedded model faster: llama.cpp's own GBNF sampler
or llguidance's token masks, on the same JSON schema, prompt and greedy decoding.

    .venv/bin/python bench/grammar_engines.py [--tokens 128] [--runs 3]

openscope constrains with llguidance since this measurement; the GBNF path is built here.
Each engine generates until the JSON is complete or the token limit; rates are tokens/s of
the whole loop (mask or grammar, sampling, decode), medians over the runs after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from openscope.backends.llamacpp.model_file import embedded_model_path
from openscope.backends.llamacpp.sampling import ResolvedSampling, build_sampler

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "tags": {"type": "array", "items": {"enum": ["cute", "wild", "lazy"]}, "maxItems": 3},
        "home": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
            "required": ["city", "zip"],
            "additionalProperties": False,
        },
    },
    "required": ["name", "age", "tags", "home"],
    "additionalProperties": False,
}
PROMPT = "<|im_start|>user\nDescribe a cat as JSON.<|im_end|>\n<|im_start|>assistant\n"
GREEDY = ResolvedSampling(temperature=0.0, top_p=1.0, top_k=0, presence_penalty=0.0, seed=0)

Step = Callable[[Any], None]  # constrains the logits in place before sampling
Accept = Callable[[int], bool]  # tells the engine the token; False when generation is done


def generate(llm: Any, sampler: Any, tokens: int, step: Step | None, accept: Accept | None) -> int:
    from llama_cpp import llama_cpp as lib

    llm.reset()
    llm.eval(llm.tokenize(PROMPT.encode(), add_bos=False, special=True))
    n_vocab = llm.n_vocab()
    count = 0
    for _ in range(tokens):
        if step is not None:
            step(np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(n_vocab,)))
        token = int(sampler.sample(llm._ctx, -1))
        if lib.llama_vocab_is_eog(llm._model.vocab, token):
            break
        count += 1
        if accept is not None and not accept(token):
            break
        llm.eval([token])
    return count


def rate(run: Callable[[], int], runs: int) -> float:
    run()  # warm-up
    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        produced = run()
        rates.append(produced / (time.perf_counter() - started))
    return statistics.median(rates)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from llama_cpp import Llama

    llm = Llama(str(embedded_model_path()), n_ctx=2048, n_threads=args.threads, verbose=False)
    n_vocab = llm.n_vocab()
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    gbnf = json_schema_to_gbnf(json.dumps(SCHEMA))

    def free() -> int:
        return generate(llm, build_sampler(GREEDY, n_vocab), args.tokens, None, None)

    def llama_grammar() -> int:
        from llama_cpp import llama_cpp as lib
        from llama_cpp._internals import LlamaSampler

        sampler = LlamaSampler()
        grammar = lib.llama_sampler_init_grammar(llm._model.vocab, gbnf.encode(), b"root")
        lib.llama_sampler_chain_add(sampler.sampler, grammar)
        sampler.add_greedy()
        return generate(llm, sampler, args.tokens, None, None)

    base = rate(free, args.runs)
    with_llama = rate(llama_grammar, args.runs)
    print(f"free text:                      {base:6.1f} tok/s")
    print(f"llama.cpp GBNF grammar:         {with_llama:6.1f} tok/s  ratio {with_llama / base:.2f}")
    try:
        import llguidance
        import llguidance.numpy as llnp
        from llguidance.llamacpp import lltokenizer_from_vocab
    except ImportError:
        print("llguidance: not installed (pip install llguidance) - not compared")
        return 0

    tokenizer = lltokenizer_from_vocab(llm._model.vocab)
    grammar = llguidance.LLMatcher.grammar_from_json_schema(json.dumps(SCHEMA))

    def guided() -> int:
        matcher = llguidance.LLMatcher(tokenizer, grammar)
        mask = llnp.allocate_token_bitmask(1, tokenizer.vocab_size)

        def step(logits: Any) -> None:
            llnp.fill_next_token_bitmask(matcher, mask, 0)
            llnp.apply_token_bitmask_inplace(logits[None, :], mask)

        def accept(token: int) -> bool:
            matcher.consume_token(token)
            return not matcher.is_stopped()

        return generate(llm, build_sampler(GREEDY, n_vocab), args.tokens, step, accept)

    with_llg = rate(guided, args.runs)
    print(f"llguidance token masks:         {with_llg:6.1f} tok/s  ratio {with_llg / base:.2f}")
    faster = "llguidance" if with_llg > with_llama else "llama.cpp GBNF"
    speedup = max(with_llg, with_llama) / min(with_llg, with_llama)
    print(f"faster engine here: {faster} ({speedup:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m openscope.backends.llamacpp.selfcheck`: load the embedded model and run a
multi-token prompt through it. A llama.cpp build that cannot (for example one compiled with
kernels the CPU faults on) dies here, in the installer, rather than in the server."""

from __future__ import annotations

import sys

from openscope.backends.llamacpp.model_file import embedded_model_path


def main() -> int:
    from llama_cpp import Llama

    llm = Llama(model_path=str(embedded_model_path()), n_ctx=512, n_batch=64, verbose=False)
    tokens = llm.tokenize(b"The engine evaluates this whole sentence in one batch.")
    llm.eval(tokens)
    llm.close()
    print(f"llama.cpp self-check passed ({len(tokens)} tokens evaluated)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

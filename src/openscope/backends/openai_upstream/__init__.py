"""Upstream engines behind openscope: vLLM, SGLang, llama-server, Ollama, Model Studio itself
or any OpenAI-compatible server, spoken to through their Chat Completions API."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openscope.backends.openai_upstream.backend import UpstreamBackend


def __getattr__(name: str) -> object:
    # Imported on first use: reading this package's options (the registry does, for every
    # server) does not load the runtime behind it.
    if name == "UpstreamBackend":
        from openscope.backends.openai_upstream.backend import UpstreamBackend

        return UpstreamBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["UpstreamBackend"]

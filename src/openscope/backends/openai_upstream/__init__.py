"""Upstream engines behind openscope: vLLM, SGLang, llama-server, Ollama, Model Studio itself
or any OpenAI-compatible server, spoken to through their Chat Completions API."""

from openscope.backends.openai_upstream.backend import UpstreamBackend

__all__ = ["UpstreamBackend"]

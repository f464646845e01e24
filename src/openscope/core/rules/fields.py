"""The request fields a rule can refuse, by wire-neutral names.

A refusal names one of these, not any API's parameter: the same rule is broken by
`max_tokens` in Chat and Anthropic and by `max_output_tokens` in Responses. Each protocol
maps every field to its own parameter name (protocols/<api>/names.py).

The values are identifiers: message templates refer to a field by its value (`{tools}`).
"""

from __future__ import annotations

from enum import StrEnum, unique


@unique
class Field(StrEnum):
    MESSAGES = "messages"
    STREAM = "stream"
    MAX_OUTPUT_TOKENS = "max_output_tokens"
    TEMPERATURE = "temperature"
    TOP_P = "top_p"
    TOP_K = "top_k"
    PRESENCE_PENALTY = "presence_penalty"
    SEED = "seed"
    N = "n"
    STOP = "stop"
    LOGPROBS = "logprobs"
    TOP_LOGPROBS = "top_logprobs"
    THINKING = "thinking"
    THINKING_BUDGET = "thinking_budget"
    EFFORT = "effort"
    TOOLS = "tools"
    TOOL_CHOICE = "tool_choice"
    RESPONSE_FORMAT = "response_format"
    SEARCH = "search"
    CODE_INTERPRETER = "code_interpreter"
    OUTPUT_MODALITIES = "output_modalities"
    CACHE_CONTROL = "cache_control"
    SESSION_CACHE = "session_cache"

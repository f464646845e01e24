"""Bounds on the size of a request, the same whichever API it came through.

They keep one request from costing far more than its bytes suggest: every stop sequence is
matched after every token, every tool is rendered into the prompt, every message templated.
The caps are generous; no ordinary client comes near them.

`param` on a refusal names the core field (`stop`, `tools`, `messages`), wire-neutral. Only
Chat Completions echoes `param` in its error body, and its parameter names are these; the
Responses and Anthropic error bodies carry the message alone, whose wording names no
API's field.
"""

from __future__ import annotations

import json
from typing import Any

from openscope.core.errors import InvalidParameter
from openscope.core.request import GenerateRequest

MAX_STOP_SEQUENCES = 16  # strings and token-id sequences together
MAX_STOP_CHARS = 256
MAX_STOP_TOKEN_IDS = 64
MAX_TOOLS = 128
# Counts the history a stored response or conversation brings, not only what one body held.
MAX_MESSAGES = 4096
# How deeply lists and objects may nest: in a request body (see protocols/http) and in a
# tool call's arguments. Python's json and the store's JSON column recurse, so a value
# nested a thousand levels deep would crash them; no real schema or argument nests past a
# dozen.
MAX_NESTING = 64

_Container = dict[Any, Any] | list[Any]


def nesting_exceeds(value: object, limit: int) -> bool:
    """Whether `value` nests lists and dicts more than `limit` levels (`[]` is one level).

    Walks one level at a time instead of recursing: the values this guards against are
    exactly those a recursive walk would crash on."""
    level: list[_Container] = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        below: list[_Container] = []
        for container in level:
            children = container.values() if isinstance(container, dict) else container
            below.extend(c for c in children if isinstance(c, dict | list))
        level = below
    return False


def arguments_nest_too_deeply(arguments: str) -> bool:
    """Whether a tool call's arguments are JSON nested past `MAX_NESTING`. Arguments that
    are not JSON at all are left alone: models write malformed ones, clients echo them."""
    try:
        value = json.loads(arguments)
    except RecursionError:
        return True  # deeper than the interpreter's stack, so far deeper than the limit
    except ValueError:
        return False
    return nesting_exceeds(value, MAX_NESTING)


def check_limits(request: GenerateRequest) -> None:
    """Raise `InvalidParameter` for the first bound the request breaks."""
    _check_stops(request)
    if len(request.tools) > MAX_TOOLS:
        raise InvalidParameter(f"The number of tools must not exceed {MAX_TOOLS}.", param="tools")
    if len(request.messages) > MAX_MESSAGES:
        raise InvalidParameter(
            f"The number of messages must not exceed {MAX_MESSAGES}.", param="messages"
        )
    for message in request.messages:
        for call in message.tool_calls:
            if arguments_nest_too_deeply(call.arguments):
                raise InvalidParameter(
                    f"The arguments of a tool call are nested too deeply: at most "
                    f"{MAX_NESTING} levels.",
                    param="messages",
                )


def _check_stops(request: GenerateRequest) -> None:
    strings = request.sampling.stop
    id_sequences = request.sampling.stop_token_ids
    if len(strings) + len(id_sequences) > MAX_STOP_SEQUENCES:
        raise InvalidParameter(
            f"The number of stop sequences must not exceed {MAX_STOP_SEQUENCES}.", param="stop"
        )
    if any(len(s) > MAX_STOP_CHARS for s in strings):
        raise InvalidParameter(
            f"A stop sequence must not exceed {MAX_STOP_CHARS} characters.", param="stop"
        )
    if any(len(ids) > MAX_STOP_TOKEN_IDS for ids in id_sequences):
        raise InvalidParameter(
            f"A stop sequence must not exceed {MAX_STOP_TOKEN_IDS} token ids.", param="stop"
        )
    if any(i < 0 for ids in id_sequences for i in ids):
        raise InvalidParameter("Stop token ids must be non-negative.", param="stop")

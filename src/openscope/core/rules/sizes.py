"""Bounds on the size of a request, the same whichever API it came through.

They keep one request from costing far more than its bytes suggest: every stop sequence is
matched after every token, every tool is rendered into the prompt, every message templated.
The caps are generous; no ordinary client comes near them. (How deeply JSON may nest is
`core.limits`: the wire parser needs it before there is a request.)
"""

from __future__ import annotations

from collections.abc import Iterable

from openscope.core.catalog import ModelSpec
from openscope.core.limits import MAX_NESTING, arguments_nest_too_deeply
from openscope.core.request import GenerateRequest
from openscope.core.rules.fields import Field
from openscope.core.rules.refusal import Refusal
from openscope.core.rules.wording import Wording

MAX_STOP_SEQUENCES = 16  # strings and token-id sequences together
MAX_STOP_CHARS = 256
MAX_STOP_TOKEN_IDS = 64
MAX_TOOLS = 128
# Counts the history a stored response or conversation brings, not only what one body held.
MAX_MESSAGES = 4096


def check_sizes(request: GenerateRequest) -> None:
    """Raise a `Refusal` for the first bound the request breaks."""
    _check_stops(request)
    if len(request.tools) > MAX_TOOLS:
        raise Refusal(Wording.TOO_MANY_TOOLS, Field.TOOLS, limit=MAX_TOOLS)
    if len(request.messages) > MAX_MESSAGES:
        raise Refusal(Wording.TOO_MANY_MESSAGES, Field.MESSAGES, limit=MAX_MESSAGES)
    for message in request.messages:
        for call in message.tool_calls:
            if arguments_nest_too_deeply(call.arguments):
                raise Refusal(Wording.ARGUMENTS_TOO_DEEP, Field.MESSAGES, limit=MAX_NESTING)


def _check_stops(request: GenerateRequest) -> None:
    strings = request.sampling.stop
    id_sequences = request.sampling.stop_token_ids
    if len(strings) + len(id_sequences) > MAX_STOP_SEQUENCES:
        raise Refusal(Wording.TOO_MANY_STOPS, Field.STOP, limit=MAX_STOP_SEQUENCES)
    if any(len(s) > MAX_STOP_CHARS for s in strings):
        raise Refusal(Wording.STOP_TOO_LONG, Field.STOP, limit=MAX_STOP_CHARS)
    if any(len(ids) > MAX_STOP_TOKEN_IDS for ids in id_sequences):
        raise Refusal(Wording.STOP_TOO_MANY_IDS, Field.STOP, limit=MAX_STOP_TOKEN_IDS)
    if any(i < 0 for ids in id_sequences for i in ids):
        raise Refusal(Wording.STOP_ID_NEGATIVE, Field.STOP)


# The most JSON bytes one prompt token can take: a long run of one character (a token of
# 16 spaces, of 32 dashes), or a character JSON escapes (`\u00e9` is 6 bytes, and a CJK
# character's escape one or two tokens). Real text averages 4-8; 64 leaves room for every
# vocabulary we know without letting a body be megabytes for a small context.
BYTES_PER_PROMPT_TOKEN = 64
# What a generation body holds besides its prompt: the JSON around the messages, stops,
# sampling, response_format schemas, metadata; all bounded above, far below this.
NON_PROMPT_BYTES = 256 * 1024


def generation_body_limit(specs: Iterable[ModelSpec], ceiling: int) -> int:
    """The largest generation request body (chat, messages, responses, count_tokens) worth
    reading for models like `specs`: what the longest prompt one of them accepts could take,
    and at most `ceiling`. A model that reads images or audio takes `ceiling` (inline media
    is big and is not counted in tokens here). Bodies past it are refused from their
    `Content-Length`, before a byte is parsed: a prompt of megabytes for a context of a few
    thousand tokens would be refused anyway, and parsing it holds the interpreter (and the
    embedded engine's per-token work) for tens of milliseconds a request."""
    largest = 0
    for spec in specs:
        if spec.capabilities.vision or spec.capabilities.audio:
            return ceiling
        largest = max(largest, spec.input_limit * BYTES_PER_PROMPT_TOKEN + NON_PROMPT_BYTES)
    return min(ceiling, largest) if largest else ceiling

"""Bounds on the size of a request, the same whichever API it came through.

They keep one request from costing far more than its bytes suggest: every stop sequence is
matched after every token, every tool is rendered into the prompt, every message templated.
The caps are generous; no ordinary client comes near them. (How deeply JSON may nest is
`core.limits`: the wire parser needs it before there is a request.)
"""

from __future__ import annotations

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

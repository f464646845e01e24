"""What one engine can be sent, checked before anything is: a request needing what its
dialect cannot carry is refused by name (each API words the refusal), never sent without
it."""

from __future__ import annotations

from openscope.backends.openai_upstream.dialect import Dialect
from openscope.backends.openai_upstream.request_body import (
    PARTIAL_DIALECTS,
    check_high_resolution,
)
from openscope.core.cache import part_marker
from openscope.core.messages import ToolCallPart, ToolResultPart
from openscope.core.request import GenerateRequest
from openscope.core.rules import Field, Refusal, Wording
from openscope.core.rules.capabilities import has_audio


def check_dialect(request: GenerateRequest, dialect: Dialect) -> None:
    """Refuse, naming the core field (each API words it), what this engine cannot be
    sent: nothing is dropped on the way."""

    def refuse(field: Field) -> Refusal:
        return Refusal(Wording.UPSTREAM_LACKS, field, upstream=dialect.name)

    if request.partial and dialect.name not in PARTIAL_DIALECTS:
        raise refuse(Field.MESSAGES)  # chat's partial mode: a flag on the last message
    if request.session_cache:
        # Model Studio's session cache belongs to its Responses API; this is chat.
        raise refuse(Field.SESSION_CACHE)
    ids = request.sampling.stop_token_ids
    if ids and (not dialect.stop_token_ids or any(len(seq) != 1 for seq in ids)):
        raise refuse(Field.STOP)
    if dialect.model_studio and _unforwardable_markers(request):
        # Model Studio's chat takes markers on content blocks only, with its own life
        # (5 minutes): a marker asking for another could not be passed on.
        raise refuse(Field.CACHE_CONTROL)
    budget = request.thinking.budget_tokens
    if budget is not None and request.thinking.enabled and not dialect.thinking_budget:
        raise refuse(Field.THINKING_BUDGET)
    check_high_resolution(request, dialect)
    if "audio" in request.output_modalities and not dialect.audio_output:
        raise refuse(Field.OUTPUT_MODALITIES)
    if not dialect.input_audio and has_audio(request):
        raise refuse(Field.MESSAGES)


def _unforwardable_markers(request: GenerateRequest) -> bool:
    if any(tool.cache_control is not None for tool in request.tools):
        return True
    for message in request.messages:
        for part in message.parts:
            marker = part_marker(part)
            if marker is None:
                continue
            if isinstance(part, ToolCallPart | ToolResultPart) or marker.ttl_seconds is not None:
                return True
    return False

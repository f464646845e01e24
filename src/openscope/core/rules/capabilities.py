"""What the model's catalogue entry says it can do, enforced: a request that needs a
capability the model lacks is refused, naming the field that needs it, never served
without it. (What this server's backend can do is the engine's `check_features`.)
"""

from __future__ import annotations

import json

from openscope.core.catalog.spec import ModelSpec
from openscope.core.messages import (
    AudioPart,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    images_of,
)
from openscope.core.request import GenerateRequest, ResponseFormatType
from openscope.core.rules.fields import Field
from openscope.core.rules.refusal import Refusal
from openscope.core.rules.wording import Wording

# The most characters one token stands for: the longest piece in the Qwen2 and Qwen3.5
# vocabularies (and Llama 3's) is 128 bytes, a run of spaces, and a character is at least
# one byte. So a prompt of more than `input_limit * 128` characters cannot fit in the
# model's `input_limit` tokens, however it is tokenized.
MAX_CHARS_PER_TOKEN = 128


def has_tool_traffic(request: GenerateRequest) -> bool:
    return any(
        isinstance(part, ToolCallPart | ToolResultPart)
        for message in request.messages
        for part in message.parts
    )


def has_images(request: GenerateRequest) -> bool:
    return next(images_of(request.messages), None) is not None


def has_audio(request: GenerateRequest) -> bool:
    """Whether the client sent audio (chat's input_audio parts)."""
    return any(isinstance(p, AudioPart) for m in request.messages for p in m.parts)


def prompt_exceeds(request: GenerateRequest, chars: int) -> bool:
    """Whether the text the rendered prompt certainly holds (messages, reasoning, tool
    traffic, tool definitions; not the template's own text, not images) is longer than
    `chars` characters. Stops counting once it is."""
    total = 0
    for message in request.messages:
        for part in message.parts:
            if isinstance(part, TextPart | ReasoningPart | ToolResultPart):
                total += len(part.text)
            elif isinstance(part, ToolCallPart):
                total += len(part.name) + len(part.arguments)
            if total > chars:
                return True
    for tool in request.tools:
        # The most compact JSON: however a template writes the schema, it is no shorter.
        schema = json.dumps(tool.parameters, ensure_ascii=False, separators=(",", ":"))
        total += len(tool.name) + len(tool.description or "") + len(schema)
        if total > chars:
            return True
    return False


def check_capabilities(request: GenerateRequest, spec: ModelSpec) -> None:
    """Raise a `Refusal` for the first capability the request needs and the model lacks."""
    caps = spec.capabilities
    model = spec.name
    if request.tools and not caps.tools:
        raise Refusal(Wording.MODEL_LACKS, Field.TOOLS, model=model)
    if not caps.tools and has_tool_traffic(request):
        raise Refusal(Wording.MODEL_LACKS_TOOL_TRAFFIC, Field.MESSAGES, model=model)
    if request.response_format.type is ResponseFormatType.JSON_SCHEMA and not caps.json_schema:
        raise Refusal(Wording.MODEL_LACKS_JSON_SCHEMA, Field.RESPONSE_FORMAT, model=model)
    if not caps.vision and has_images(request):
        raise Refusal(Wording.MODEL_LACKS_IMAGES, Field.MESSAGES, model=model)
    if not caps.audio and has_audio(request):
        raise Refusal(Wording.MODEL_LACKS_AUDIO_INPUT, Field.MESSAGES, model=model)
    if "audio" in request.output_modalities and not caps.audio:
        raise Refusal(Wording.MODEL_LACKS_AUDIO_OUTPUT, Field.OUTPUT_MODALITIES, model=model)
    # `input_limit` counts tokens, and the core has no tokenizer: refuse only what cannot
    # fit however it is tokenized. The backend, which tokenizes, refuses the rest with the
    # same message against its own window.
    if prompt_exceeds(request, spec.input_limit * MAX_CHARS_PER_TOKEN):
        raise Refusal(Wording.INPUT_TOO_LONG, Field.MESSAGES, limit=spec.input_limit)

"""`check_request`: Model Studio's rules for one request on the model it asked for.

The model-independent sampling ranges (`ranges`) are applied as each protocol decodes,
before a model is resolved; the rules here depend on the catalogue entry of the model asked
for. The size bounds every API shares (`sizes`) come first.
"""

from __future__ import annotations

from openscope.core.builtin_tools import BuiltinToolKind
from openscope.core.catalog.spec import ModelSpec, ThinkingMode
from openscope.core.request import GenerateRequest, ResponseFormatType, ToolChoiceMode
from openscope.core.rules.capabilities import check_capabilities
from openscope.core.rules.code_interpreter import check_code_interpreter
from openscope.core.rules.fields import Field
from openscope.core.rules.image_tools import check_image_tools
from openscope.core.rules.refusal import Refusal
from openscope.core.rules.sizes import check_sizes
from openscope.core.rules.thinking import thinking_enabled
from openscope.core.rules.tools import check_tools
from openscope.core.rules.wording import Wording


def check_request(request: GenerateRequest, spec: ModelSpec, *, stream: bool) -> None:
    """Raise a `Refusal` with Model Studio's message for the first rule broken.

    The size bounds come first: the rules after them walk the tools and messages. What the
    model cannot do at all (`capabilities`) comes before how the request uses it: a model
    without tools refuses the tools before their names are checked."""
    check_sizes(request)
    check_capabilities(request, spec)
    check_tools(request)
    check_image_tools(request)
    model = spec.name
    caps = spec.capabilities
    asked = request.thinking.enabled
    if asked is True and caps.thinking is ThinkingMode.NONE:
        raise Refusal(Wording.MODEL_LACKS_THINKING, Field.THINKING, model=model)
    if asked is False and caps.thinking is ThinkingMode.ONLY:
        raise Refusal(Wording.THINKING_REQUIRED, Field.THINKING, model=model)
    if request.thinking.effort is not None and not caps.effort:
        raise Refusal(Wording.MODEL_LACKS_SETTING, Field.EFFORT, model=model)
    thinking = thinking_enabled(request, spec)
    check_code_interpreter(request, spec, thinking)
    budget = request.thinking.budget_tokens
    if budget is not None and thinking:
        limit = spec.max_thinking_tokens or spec.max_output_tokens
        if budget < 1 or budget > limit:
            raise Refusal(Wording.THINKING_BUDGET_RANGE, Field.THINKING_BUDGET, limit=limit)
    if thinking and caps.thinking_stream_only and not stream:
        raise Refusal(Wording.STREAM_ONLY, Field.STREAM)
    if thinking and request.tool_choice.mode in (ToolChoiceMode.REQUIRED, ToolChoiceMode.NAMED):
        raise Refusal(Wording.FORCED_TOOL_WHILE_THINKING, Field.TOOL_CHOICE)
    if thinking and request.response_format.type is not ResponseFormatType.TEXT:
        raise Refusal(Wording.JSON_WHILE_THINKING, Field.RESPONSE_FORMAT)
    if thinking and request.partial:
        # Model Studio's thinking models cannot continue a partial answer, whether the
        # client asked for thinking or the model thinks of its own accord.
        raise Refusal(Wording.PARTIAL_WHILE_THINKING, Field.THINKING)
    max_tokens = request.sampling.max_tokens
    if max_tokens is not None and not 1 <= max_tokens <= spec.max_output_tokens:
        raise Refusal(
            Wording.INCLUSIVE_RANGE, Field.MAX_OUTPUT_TOKENS, low=1, high=spec.max_output_tokens
        )
    if request.sampling.n > 1 and not caps.multiple_choices:
        raise Refusal(Wording.MODEL_LACKS_N, Field.N, model=model)
    if request.sampling.n > 1 and (request.tools or request.builtin_tools):
        raise Refusal(Wording.N_WITH_TOOLS, Field.N)  # a built-in tool is a tool too
    if request.sampling.logprobs and not caps.logprobs:
        raise Refusal(Wording.MODEL_LACKS, Field.LOGPROBS, model=model)
    searches = any(t.kind is BuiltinToolKind.WEB_SEARCH for t in request.builtin_tools)
    if searches and not caps.search:
        raise Refusal(Wording.MODEL_LACKS_SEARCH, Field.SEARCH)

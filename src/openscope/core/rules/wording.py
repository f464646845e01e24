"""Every message a rule refuses with, as a template, in Model Studio's wording.

Placeholders: `{param}` is the refused field, `{<field>}` any other field (`{tools}`), both
as the protocol names them; the rest (`{model}`, `{limit}`, `{name}`, ...) are values the
refusal carries. A value a client sent (a tool's name) is only ever such a value, never
part of a template, so no client text is read as a placeholder.

A member names a wording, not a check: several checks share "Range of {param} should be
[{low}, {high}]". A protocol may reword a member where the substituted name reads wrong in
its API (protocols/<api>/names.py); `unique` keeps two members from silently merging.
"""

from __future__ import annotations

from enum import StrEnum, unique


@unique
class Wording(StrEnum):
    # sizes
    TOO_MANY_STOPS = "The number of stop sequences must not exceed {limit}."
    STOP_TOO_LONG = "A stop sequence must not exceed {limit} characters."
    STOP_TOO_MANY_IDS = "A stop sequence must not exceed {limit} token ids."
    STOP_ID_NEGATIVE = "Stop token ids must be non-negative."
    TOO_MANY_TOOLS = "The number of {tools} must not exceed {limit}."
    TOO_MANY_MESSAGES = "The number of {messages} must not exceed {limit}."
    ARGUMENTS_TOO_DEEP = (
        "The arguments of a tool call are nested too deeply: at most {limit} levels."
    )
    # sampling ranges
    TEMPERATURE_RANGE = "Temperature should be in [{low}, {high})"
    HALF_OPEN_RANGE = "Range of {param} should be ({low}, {high}]"
    INCLUSIVE_RANGE = "Range of {param} should be [{low}, {high}]"
    NOT_NEGATIVE = "Parameter {param} be greater than or equal to 0"
    PRESENCE_PENALTY_RANGE = "Presence_penalty should be in [{low}, {high}]"
    # tools
    TOOL_NAME_INVALID = (
        "The tool name '{name}' is invalid: use letters, digits, underscores and hyphens, at "
        "most {limit} characters."
    )
    TOOL_NAMES_REPEATED = "Tool names must be unique."
    # Model Studio's own words, with its prefix (seen in real traffic, builtin-tools.md §1.4)
    TOOL_NAME_RESERVED = (
        "<400> InternalError.Algo.InvalidParameter: Tool names are not allowed to be [{name}]"
    )
    TOOL_NAME_TAKEN = "The tool name {name} is taken by the built-in tool {kind} in this request."
    FORCED_TOOL_WITHOUT_TOOLS = "{param} can force a tool call only when {tools} are given."
    FORCED_TOOL_UNKNOWN = "{param} names the function '{name}', which is not in {tools}."
    # Model Studio: image_search searches by an image of the input [builtin-tools.md §3.0]
    IMAGE_SEARCH_NEEDS_IMAGE = "The built-in tool image_search needs an image in {messages}."
    # what the model can do
    MODEL_LACKS = "The model {model} does not support {param}."
    MODEL_LACKS_SETTING = "The model {model} does not support the {param} setting."
    # Model Studio's own messages, verbatim in every API (BEHAVIOUR.md; its Anthropic and
    # Responses endpoints answer with the same text): they name chat's parameters, and no
    # protocol rewords them.
    MODEL_LACKS_THINKING = "The model {model} does not support enable_thinking."
    MODEL_LACKS_SEARCH = "This model does not support enable_search."
    MODEL_LACKS_N = "The model {model} does not support {param} > 1."
    MODEL_LACKS_TOOL_TRAFFIC = "The model {model} does not support tool calls in {param}."
    MODEL_LACKS_JSON_SCHEMA = "The model {model} does not support a json_schema {param}."
    MODEL_LACKS_IMAGES = "The model {model} does not support images in {param}."
    MODEL_LACKS_AUDIO_INPUT = "The model {model} does not support audio in {param}."
    MODEL_LACKS_AUDIO_OUTPUT = "The model {model} does not support audio output in {param}."
    INPUT_TOO_LONG = "Range of input length should be [1, {limit}]"
    # thinking: Model Studio's own messages, verbatim in every API (as above)
    THINKING_REQUIRED = "The value of the enable_thinking parameter is restricted to True."
    THINKING_BUDGET_RANGE = (
        "The thinking_budget parameter must be a positive integer and not greater than {limit}"
    )
    STREAM_ONLY = (
        "This model only support stream mode, please enable the stream parameter to access "
        "the model."
    )
    FORCED_TOOL_WHILE_THINKING = (
        "The tool_choice parameter does not support being set to required or object in thinking "
        "mode"
    )
    JSON_WHILE_THINKING = "Json mode response is not supported when enable_thinking is true"
    PARTIAL_WHILE_THINKING = "Partial mode is not supported in thinking mode: set {param} to false."
    # combinations
    N_WITH_TOOLS = "{param} must be 1 when the {tools} parameter is set."
    CODE_INTERPRETER_NEEDS_THINKING = "{param} works only in thinking mode: set {thinking} to true."
    # what this server's backend can do (engine), not the model
    BACKEND_LACKS = (
        "The parameter {param} is not supported yet by the backend serving model {model} on "
        "this server."
    )
    UPSTREAM_LACKS = (
        "The parameter {param} is not supported yet by the {upstream} upstream on this server."
    )
    # image_search runs as: the model describes the image, the search provider finds images
    NO_IMAGE_SEARCH_PROVIDER = (
        "The built-in tool image_search needs an image search provider, and none is "
        "configured on this server."
    )
    IMAGE_SEARCH_NEEDS_VISION = (
        "The built-in tool image_search needs a model that can see images; the backend "
        "serving model {model} on this server cannot."
    )
    BACKEND_LACKS_TOOL = (
        "The built-in tool {tool} is not supported yet by the backend serving model {model} "
        "on this server."
    )

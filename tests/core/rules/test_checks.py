import pytest

from openscope.core import rules
from openscope.core.builtin_tools import WebSearch
from openscope.core.catalog import default_catalog
from openscope.core.errors import InvalidParameter
from openscope.core.messages import Message, Role, TextPart
from openscope.core.request import (
    GenerateRequest,
    ResponseFormat,
    ResponseFormatType,
    SamplingParams,
    ThinkingConfig,
    ToolChoice,
    ToolChoiceMode,
    ToolSpec,
)

CATALOG = default_catalog()
HELLO = (Message(Role.USER, (TextPart("hello"),)),)


def request(model: str, **fields: object) -> GenerateRequest:
    return GenerateRequest(model=model, messages=HELLO, **fields)  # type: ignore[arg-type]


def refusal(req: GenerateRequest, *, stream: bool = False) -> InvalidParameter:
    with pytest.raises(InvalidParameter) as caught:
        rules.check_request(req, CATALOG[req.model], stream=stream)
    return caught.value


def check(req: GenerateRequest, *, stream: bool = False) -> str:
    """The refusal's message, in the core's wire-neutral names (each protocol words it in
    its own: tests/protocols/<api>/test_names.py)."""
    return refusal(req, stream=stream).message


def test_thinking_on_a_model_without_thinking() -> None:
    req = request("smollm2-135m-instruct", thinking=ThinkingConfig(enabled=True))
    error = refusal(req)
    assert error.message == "The model smollm2-135m-instruct does not support enable_thinking."
    assert error.param == rules.Field.THINKING


def test_thinking_only_model_refuses_thinking_off() -> None:
    req = request("qwq-plus", thinking=ThinkingConfig(enabled=False))
    assert check(req) == "The value of the enable_thinking parameter is restricted to True."


def test_forced_tool_in_thinking_mode() -> None:
    req = request(
        "qwen-plus",
        thinking=ThinkingConfig(enabled=True),
        tools=(ToolSpec("f"),),
        tool_choice=ToolChoice(ToolChoiceMode.NAMED, name="f"),
    )
    assert check(req) == (
        "The tool_choice parameter does not support being set to required or object in "
        "thinking mode"
    )


def test_json_mode_with_thinking() -> None:
    req = request(
        "qwen-plus",
        thinking=ThinkingConfig(enabled=True),
        response_format=ResponseFormat(ResponseFormatType.JSON_OBJECT),
    )
    assert check(req) == "Json mode response is not supported when enable_thinking is true"


def test_stream_only_thinking_model() -> None:
    req = request("qwq-plus")
    assert check(req, stream=False).startswith("This model only support stream mode")
    rules.check_request(req, CATALOG["qwq-plus"], stream=True)


def test_max_tokens_range_uses_the_model_limit() -> None:
    spec = CATALOG["qwen-plus"]
    req = request("qwen-plus", sampling=SamplingParams(max_tokens=spec.max_output_tokens + 1))
    error = refusal(req)
    assert error.message == f"Range of max_output_tokens should be [1, {spec.max_output_tokens}]"
    assert error.param == rules.Field.MAX_OUTPUT_TOKENS


def test_max_tokens_below_one() -> None:
    req = request("smollm2-135m-instruct", sampling=SamplingParams(max_tokens=0))
    assert check(req) == "Range of max_output_tokens should be [1, 8192]"


def test_thinking_budget_range() -> None:
    spec = CATALOG["qwen-plus"]
    limit = spec.max_thinking_tokens or spec.max_output_tokens
    req = request("qwen-plus", thinking=ThinkingConfig(enabled=True, budget_tokens=limit + 1))
    assert check(req) == (
        f"The thinking_budget parameter must be a positive integer and not greater than {limit}"
    )


def test_defaults_fill_only_unset_values() -> None:
    spec = CATALOG["qwen-max"]
    filled = rules.apply_defaults(request("qwen-max"), spec)
    assert filled.sampling.top_k == 20
    assert filled.sampling.presence_penalty == 1.5
    kept = rules.apply_defaults(
        request("qwen-max", sampling=SamplingParams(top_k=3, presence_penalty=0.0)), spec
    )
    assert (kept.sampling.top_k, kept.sampling.presence_penalty) == (3, 0.0)


@pytest.mark.parametrize("name", ["has space", "x" * 65, "dot.name", ""])
def test_tool_names_are_validated(name: str) -> None:
    req = request("qwen-plus", tools=(ToolSpec(name),))
    assert "tool name" in check(req)


def test_a_function_named_search_is_refused_as_model_studio_does() -> None:
    req = request("qwen-plus", tools=(ToolSpec("search"),))
    assert check(req) == (
        "<400> InternalError.Algo.InvalidParameter: Tool names are not allowed to be [search]"
    )
    assert refusal(req).param == "tools"


def test_a_function_named_like_a_builtin_of_the_request_is_refused_before_admission() -> None:
    clash = request("qwen-plus", tools=(ToolSpec("web_search"),), builtin_tools=(WebSearch(),))
    assert check(clash) == (
        "The tool name web_search is taken by the built-in tool web_search in this request."
    )
    # without the built-in, the name is the client's
    rules.check_request(
        request("qwen-plus", tools=(ToolSpec("web_search"),)), CATALOG["qwen-plus"], stream=False
    )


def test_n_above_one_with_tools() -> None:
    req = request("qwen-plus", tools=(ToolSpec("f"),), sampling=SamplingParams(n=2))
    assert check(req) == "n must be 1 when the tools parameter is set."
    # a built-in tool is a tool: refused here, before admission, not in the tool loop
    req = request("qwen-plus", builtin_tools=(WebSearch(),), sampling=SamplingParams(n=2))
    assert check(req) == "n must be 1 when the tools parameter is set."


def test_forced_tool_must_exist() -> None:
    named = ToolChoice(ToolChoiceMode.NAMED, name="g")
    assert "'g', which is not in tools" in check(
        request("qwen-plus", tools=(ToolSpec("f"),), tool_choice=named)
    )
    required = ToolChoice(ToolChoiceMode.REQUIRED)
    assert "only when tools are given" in check(request("qwen-plus", tool_choice=required))


def test_size_bounds_come_before_the_other_rules() -> None:
    # 129 tools with one name: the count is refused before the names are compared
    req = request("qwen-plus", tools=(ToolSpec("f"),) * 129)
    assert check(req) == "The number of tools must not exceed 128."


def partial(model: str, enabled: bool | None) -> GenerateRequest:
    prefix = Message(Role.ASSISTANT, (TextPart("def fib(n):"),))
    return GenerateRequest(
        model=model,
        messages=(*HELLO, prefix),
        partial=True,
        thinking=ThinkingConfig(enabled=enabled),
    )


def test_partial_mode_is_refused_whenever_the_model_thinks() -> None:
    # asked for, or a model that always thinks (the chat decoder only saw the former)
    for req in (partial("qwen-plus", True), partial("qwq-plus", None)):
        error = refusal(req, stream=True)
        assert (
            error.message
            == "Partial mode is not supported in thinking mode: set thinking to false."
        )
        assert error.param == "thinking"
    rules.check_request(partial("qwen-plus", False), CATALOG["qwen-plus"], stream=True)


def test_required_may_force_a_lone_built_in_tool() -> None:
    # The tool loop offers the built-in as a function, and "required" forces it.
    required = ToolChoice(ToolChoiceMode.REQUIRED)
    req = request("qwen-plus", builtin_tools=(WebSearch(),), tool_choice=required)
    rules.check_request(req, CATALOG[req.model], stream=False)
    named = ToolChoice(ToolChoiceMode.NAMED, name="web_search")
    req = request("qwen-plus", builtin_tools=(WebSearch(),), tool_choice=named)
    assert "only when tools are given" in check(req)  # a name is a function's, not a tool's

import pytest

from openscope.core.catalog import default_catalog
from openscope.core.errors import InvalidParameter
from openscope.core.messages import ImagePart, Message, Role, TextPart, ToolCallPart, ToolResultPart
from openscope.core.request import GenerateRequest, ResponseFormat, ResponseFormatType, ToolSpec
from openscope.core.rules import Field, check_capabilities, check_request
from openscope.core.rules.capabilities import MAX_CHARS_PER_TOKEN

CATALOG = default_catalog()
HELLO = Message(Role.USER, (TextPart("hello"),))


def request(model: str, *messages: Message, **fields: object) -> GenerateRequest:
    return GenerateRequest(model=model, messages=messages or (HELLO,), **fields)  # type: ignore[arg-type]


def refusal(req: GenerateRequest) -> InvalidParameter:
    with pytest.raises(InvalidParameter) as caught:
        check_capabilities(req, CATALOG[req.model])
    return caught.value


def test_tools_on_a_model_without_tools() -> None:
    error = refusal(request("qwen-math-plus", tools=(ToolSpec("f"),)))
    assert (error.message, error.param) == (
        "The model qwen-math-plus does not support tools.",
        Field.TOOLS,
    )


def test_tool_traffic_on_a_model_without_tools() -> None:
    call = Message(Role.ASSISTANT, (ToolCallPart("c", "f", "{}"),))
    result = Message(Role.TOOL, (ToolResultPart("c", (TextPart("42"),)),))
    error = refusal(request("qwen-math-plus", HELLO, call, result))
    assert error.message == "The model qwen-math-plus does not support tool calls in messages."
    assert error.param == Field.MESSAGES


def test_json_schema_on_a_model_without_it() -> None:
    schema = ResponseFormat(ResponseFormatType.JSON_SCHEMA, schema={"type": "object"})
    error = refusal(request("qwen-math-plus", response_format=schema))
    assert error.param == Field.RESPONSE_FORMAT
    assert (
        error.message == "The model qwen-math-plus does not support a json_schema response_format."
    )
    # json_object is not json_schema: the catalogue records only the latter
    check_capabilities(
        request("qwen-math-plus", response_format=ResponseFormat(ResponseFormatType.JSON_OBJECT)),
        CATALOG["qwen-math-plus"],
    )


@pytest.mark.parametrize(
    "message",
    [
        Message(Role.USER, (TextPart("what is it?"), ImagePart("https://x.test/a.png"))),
        Message(Role.TOOL, (ToolResultPart("c", (ImagePart("https://x.test/a.png"),)),)),
    ],
)
def test_images_on_a_model_that_cannot_see(message: Message) -> None:
    error = refusal(request("qwen-plus", HELLO, message))
    assert error.message == "The model qwen-plus does not support images in messages."
    assert error.param == Field.MESSAGES


def test_audio_output_on_a_model_that_cannot_speak() -> None:
    error = refusal(request("qwen-plus", output_modalities=("text", "audio")))
    assert (
        error.message == "The model qwen-plus does not support audio output in output_modalities."
    )
    assert error.param == Field.OUTPUT_MODALITIES


def test_a_model_with_the_capabilities_passes() -> None:
    seeing = Message(Role.USER, (ImagePart("https://x.test/a.png"),))
    req = request("qwen3-omni-flash", seeing, output_modalities=("text", "audio"))
    check_capabilities(req, CATALOG["qwen3-omni-flash"])
    check_capabilities(request("qwen-plus", tools=(ToolSpec("f"),)), CATALOG["qwen-plus"])


def test_input_that_cannot_fit_the_models_input_limit() -> None:
    limit = CATALOG["qwen-math-plus"].input_limit  # 3,072 tokens
    bound = limit * MAX_CHARS_PER_TOKEN
    fits = Message(Role.USER, (TextPart("x" * bound),))
    check_capabilities(request("qwen-math-plus", fits), CATALOG["qwen-math-plus"])
    too_long = Message(Role.USER, (TextPart("x" * (bound + 1)),))
    error = refusal(request("qwen-math-plus", too_long))
    assert error.message == f"Range of input length should be [1, {limit}]"
    assert error.param == Field.MESSAGES


def test_input_length_counts_tool_definitions_and_traffic() -> None:
    spec = CATALOG["smollm2-135m-instruct"]  # 8,192 tokens, with tools
    half = "x" * (spec.input_limit * MAX_CHARS_PER_TOKEN // 2)
    call = Message(Role.ASSISTANT, (ToolCallPart("c", "f", half),))
    tool = ToolSpec("f", description=half)
    error = refusal(request("smollm2-135m-instruct", HELLO, call, tools=(tool,)))
    assert error.message == f"Range of input length should be [1, {spec.input_limit}]"
    check_capabilities(request("smollm2-135m-instruct", HELLO, call), spec)


def test_check_request_refuses_what_the_model_cannot_do_first() -> None:
    # An invalid tool name on a model without tools: the missing capability is the answer.
    req = request("qwen-math-plus", tools=(ToolSpec("has space"),))
    with pytest.raises(InvalidParameter) as caught:
        check_request(req, CATALOG["qwen-math-plus"], stream=False)
    assert caught.value.message == "The model qwen-math-plus does not support tools."

import pytest

from openscope.core.errors import InvalidParameter
from openscope.core.rules import Field, Refusal, Wording, wire_message, wire_param


def shouted(field: Field) -> str:
    return field.value.upper()


def test_the_message_uses_the_neutral_names() -> None:
    error = Refusal(Wording.INCLUSIVE_RANGE, Field.MAX_OUTPUT_TOKENS, low=1, high=8192)
    assert isinstance(error, InvalidParameter)
    assert error.message == "Range of max_output_tokens should be [1, 8192]"
    assert error.param == "max_output_tokens" and error.param is Field.MAX_OUTPUT_TOKENS


def test_a_protocol_words_it_with_its_names() -> None:
    error = Refusal(Wording.N_WITH_TOOLS, Field.N)
    assert wire_message(error, shouted) == "N must be 1 when the TOOLS parameter is set."
    assert wire_param(error, shouted) == "N"


def test_a_protocol_may_reword_one_wording() -> None:
    error = Refusal(Wording.THINKING_REQUIRED, Field.THINKING, model="qwq-plus")

    def reword(wording: Wording) -> str | None:
        return "{model} always {param}s." if wording is Wording.THINKING_REQUIRED else None

    assert wire_message(error, shouted, reword) == "qwq-plus always THINKINGs."
    other = Refusal(Wording.STREAM_ONLY, Field.STREAM)
    assert wire_message(other, shouted, reword).startswith("This model only support stream")


def test_values_are_not_read_as_placeholders() -> None:
    error = Refusal(Wording.TOOL_NAME_INVALID, Field.TOOLS, name="{tools}{0}", limit=64)
    assert error.message.startswith("The tool name '{tools}{0}' is invalid")


def test_other_errors_pass_through_as_raised() -> None:
    error = InvalidParameter("Invalid 'input': the input must not be empty.", param="input")
    assert wire_message(error, shouted) == error.message
    assert wire_param(error, shouted) == "input"
    assert wire_param(InvalidParameter("x"), shouted) is None


@pytest.mark.parametrize("name", ["tools", "param"])
def test_a_value_named_like_a_field_is_a_bug(name: str) -> None:
    with pytest.raises(ValueError):
        Refusal(Wording.MODEL_LACKS, Field.TOOLS, **{name: "x"})

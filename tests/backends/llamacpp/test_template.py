"""Prompt rendering without the model: partial mode leaves the last assistant turn open."""

import pytest

from openscope.backends.llamacpp.template import CHATML, ChatTemplate
from openscope.core.messages import Message, Role, TextPart
from openscope.core.request import ToolSpec

# Qwen-style: the assistant's content is stripped, and its turn closes with <|im_end|>.
STRIPPING = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] | trim + '<|im_end|>\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def conversation(prefix: str) -> tuple[Message, ...]:
    return (
        Message(Role.USER, (TextPart("Complete the function."),)),
        Message(Role.ASSISTANT, (TextPart(prefix),)),
    )


def template(source: str = CHATML) -> ChatTemplate:
    return ChatTemplate(source, bos_token="<s>", eos_token="</s>")


def test_a_partial_assistant_turn_is_left_open() -> None:
    text = template().render(conversation("def f(n):\n    return"), continue_final=True)
    assert text.endswith("<|im_start|>assistant\ndef f(n):\n    return")
    assert text.count("<|im_start|>assistant") == 1


def test_the_prefix_keeps_the_whitespace_it_ends_in() -> None:
    prefix = "def f(n):\n    if n <= 1:\n        return n\n    else:\n"
    for source in (CHATML, STRIPPING):
        text = template(source).render(conversation(prefix), continue_final=True)
        assert text.endswith(f"<|im_start|>assistant\n{prefix}")


def test_a_closed_turn_is_rendered_as_before() -> None:
    messages = conversation("Hello.")
    closed = template().render(messages, add_generation_prompt=False)
    assert closed.endswith("<|im_start|>assistant\nHello.<|im_end|>\n")


def test_the_tools_stay_in_the_prompt_of_a_partial_turn() -> None:
    tool = ToolSpec("get_time", "Current time", {"type": "object", "properties": {}})
    text = template().render(conversation("It is"), tools=(tool,), continue_final=True)
    assert '"name": "get_time"' in text
    assert text.endswith("<|im_start|>assistant\nIt is")


def test_a_template_that_drops_the_message_is_an_error() -> None:
    silent = "{% for message in messages %}{% endfor %}"
    with pytest.raises(ValueError, match="partial"):
        template(silent).render(conversation("Hi"), continue_final=True)

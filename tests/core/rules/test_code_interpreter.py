"""A code interpreter that requires thinking (Model Studio's Chat): the catalogue decides
which models can run it, and a request that does not think is refused; one that does not
require it (Responses) is not held to it."""

from __future__ import annotations

import pytest

from openscope.core import rules
from openscope.core.builtin_tools import CodeInterpreter
from openscope.core.catalog import default_catalog
from openscope.core.catalog.spec import ModelSpec, ThinkingMode
from openscope.core.errors import InvalidParameter
from openscope.core.messages import Message, Role, TextPart
from openscope.core.request import GenerateRequest, ThinkingConfig

CATALOG = default_catalog()
HELLO = (Message(Role.USER, (TextPart("What is 123**21?"),)),)
CHAT_TOOL = CodeInterpreter(requires_thinking=True)


def a_model(mode: ThinkingMode, *, thinks_by_default: bool | None = None) -> ModelSpec:
    """A catalogue model by what it says of thinking (not by its name)."""
    return next(
        spec
        for spec in CATALOG.values()
        if spec.capabilities.thinking is mode
        and spec.capabilities.tools
        and (thinks_by_default is None or spec.capabilities.thinking_default is thinks_by_default)
    )


def request(spec: ModelSpec, tool: CodeInterpreter, enabled: bool | None) -> GenerateRequest:
    return GenerateRequest(
        model=spec.name,
        messages=HELLO,
        builtin_tools=(tool,),
        thinking=ThinkingConfig(enabled=enabled),
    )


def refusal(req: GenerateRequest, spec: ModelSpec) -> InvalidParameter:
    with pytest.raises(InvalidParameter) as caught:
        rules.check_request(req, spec, stream=True)
    return caught.value


@pytest.mark.parametrize("enabled", [None, False])
def test_a_model_that_cannot_think_refuses_it(enabled: bool | None) -> None:
    spec = a_model(ThinkingMode.NONE)
    error = refusal(request(spec, CHAT_TOOL, enabled), spec)
    assert error.param == rules.Field.CODE_INTERPRETER
    assert error.message == f"The model {spec.name} does not support code_interpreter."


def test_thinking_switched_off_is_refused() -> None:
    spec = a_model(ThinkingMode.OPTIONAL)
    error = refusal(request(spec, CHAT_TOOL, False), spec)
    assert error.param == rules.Field.CODE_INTERPRETER
    assert error.message == "code_interpreter works only in thinking mode: set thinking to true."


def test_thinking_left_off_by_the_models_default_is_refused() -> None:
    spec = a_model(ThinkingMode.OPTIONAL, thinks_by_default=False)
    assert "works only in thinking mode" in refusal(request(spec, CHAT_TOOL, None), spec).message


@pytest.mark.parametrize(
    ("mode", "enabled", "default"),
    [
        (ThinkingMode.OPTIONAL, True, None),
        (ThinkingMode.OPTIONAL, None, True),  # thinks by default
        (ThinkingMode.ONLY, None, None),
    ],
)
def test_a_thinking_request_passes(
    mode: ThinkingMode, enabled: bool | None, default: bool | None
) -> None:
    spec = a_model(mode, thinks_by_default=default)
    rules.check_request(request(spec, CHAT_TOOL, enabled), spec, stream=True)


@pytest.mark.parametrize("enabled", [None, False])
def test_without_the_requirement_nothing_is_asked(enabled: bool | None) -> None:
    spec = a_model(ThinkingMode.NONE)
    rules.check_request(request(spec, CodeInterpreter(), enabled), spec, stream=True)

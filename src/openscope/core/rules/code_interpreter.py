"""The code interpreter where an API runs it only in thinking mode (Model Studio's Chat,
builtin-tools.md §2: "代码解释器功能仅支持思考模式调用")."""

from __future__ import annotations

from openscope.core.builtin_tools import CodeInterpreter
from openscope.core.catalog.spec import ModelSpec, ThinkingMode
from openscope.core.request import GenerateRequest
from openscope.core.rules.fields import Field
from openscope.core.rules.refusal import Refusal
from openscope.core.rules.wording import Wording


def check_code_interpreter(request: GenerateRequest, spec: ModelSpec, thinking: bool) -> None:
    """A code interpreter that requires thinking: refused on a model the catalogue says
    cannot think, and when this request does not think (thinking switched off, or left
    unset on a model that does not think by default)."""
    needs_thinking = any(
        isinstance(tool, CodeInterpreter) and tool.requires_thinking
        for tool in request.builtin_tools
    )
    if not needs_thinking:
        return
    if spec.capabilities.thinking is ThinkingMode.NONE:
        raise Refusal(Wording.MODEL_LACKS, Field.CODE_INTERPRETER, model=spec.name)
    if not thinking:
        raise Refusal(Wording.CODE_INTERPRETER_NEEDS_THINKING, Field.CODE_INTERPRETER)

"""Which tools a request shows the model, which of their calls a grammar must check, and
which tools one of which must be called.

`tool_choice: none` shows none. Responses' `allowed_tools` narrows the set to the tools it
names: only those are shown, and a call to any other is made impossible by the grammar (a
small model does not always keep to the tools it was shown). Under `auto` the model's calls
are left free unless that narrowing, or a `strict` tool (whose arguments must fit its
schema), asks for them to be checked.
"""

from __future__ import annotations

from openscope.core.request import GenerateRequest, ToolChoiceMode, ToolSpec


def offered_tools(request: GenerateRequest) -> tuple[ToolSpec, ...]:
    """The tools written into the prompt, in request order."""
    if request.tool_choice.mode is ToolChoiceMode.NONE:
        return ()
    return request.callable_tools


def forced_tools(request: GenerateRequest) -> tuple[ToolSpec, ...]:
    """The tools one of which must be called, or () when the model may answer in text."""
    choice = request.tool_choice
    if choice.mode is ToolChoiceMode.NAMED:
        return tuple(t for t in request.tools if t.name == choice.name)
    if choice.mode is ToolChoiceMode.REQUIRED:
        return offered_tools(request)
    return ()


def guarded_tools(request: GenerateRequest) -> tuple[ToolSpec, ...]:
    """Under `auto`, the tools a call must be one of when their calls are checked (the model
    may still answer in text), or () when its calls are left free."""
    if request.tool_choice.mode is not ToolChoiceMode.AUTO:
        return ()
    offered = offered_tools(request)
    narrowed = len(offered) < len(request.tools)
    return offered if narrowed or any(t.strict for t in offered) else ()

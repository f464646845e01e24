"""Rules on the tools a request offers and the tool choice that names them."""

from __future__ import annotations

import re

from openscope.core.request import GenerateRequest, ToolChoiceMode
from openscope.core.rules.fields import Field
from openscope.core.rules.refusal import Refusal
from openscope.core.rules.wording import Wording

TOOL_NAME_MAX_CHARS = 64
# Model Studio keeps this function name for its own search, whether or not a request
# searches: a client function called so is refused.
RESERVED_TOOL_NAMES = frozenset({"search"})
TOOL_NAME = re.compile(rf"^[A-Za-z0-9_-]{{1,{TOOL_NAME_MAX_CHARS}}}$")


def check_tools(request: GenerateRequest) -> None:
    """Tool names: letters, digits, underscores and hyphens, at most 64 characters, each
    once; a tool choice forces or names only tools that are there ("required" may force
    a built-in tool, which the tool loop offers the model as a function)."""
    for tool in request.tools:
        if not TOOL_NAME.match(tool.name):
            raise Refusal(
                Wording.TOOL_NAME_INVALID, Field.TOOLS, name=tool.name, limit=TOOL_NAME_MAX_CHARS
            )
        if tool.name in RESERVED_TOOL_NAMES:
            raise Refusal(Wording.TOOL_NAME_RESERVED, Field.TOOLS, name=tool.name)
    names = [t.name for t in request.tools]
    for builtin in request.builtin_tools:
        # The tool loop offers a built-in tool to the model as a function named after
        # its kind: a client function of that name would be indistinguishable.
        if str(builtin.kind) in names:
            raise Refusal(
                Wording.TOOL_NAME_TAKEN, Field.TOOLS, name=builtin.kind, kind=builtin.kind
            )
    if len(set(names)) != len(names):
        raise Refusal(Wording.TOOL_NAMES_REPEATED, Field.TOOLS)
    choice = request.tool_choice
    forces_nothing = not names and (
        choice.mode is ToolChoiceMode.NAMED
        or (choice.mode is ToolChoiceMode.REQUIRED and not request.builtin_tools)
    )
    if forces_nothing:
        raise Refusal(Wording.FORCED_TOOL_WITHOUT_TOOLS, Field.TOOL_CHOICE)
    asked = [choice.name] if choice.mode is ToolChoiceMode.NAMED else list(choice.allowed or ())
    for name in asked:
        if name not in names:
            raise Refusal(Wording.FORCED_TOOL_UNKNOWN, Field.TOOL_CHOICE, name=name)

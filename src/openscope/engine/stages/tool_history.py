"""Built-in tools' earlier runs in a request's history, as the model reads them again.

A chained turn (`previous_response_id`, a conversation) or a turn the client sends back
holds built-in call and result parts. Backends render only function calls and tool
results, so left as they are the model would not see what it searched or ran before.
Here each built-in call becomes a call of the tool's function and each result a tool turn
with what the model read of it, as far as the stored output keeps it (the runner's
`recall`). The parts themselves are what a runner with state reads (`earlier_results`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from openscope.core.builtin_tools import BuiltinToolKind
from openscope.core.messages import (
    BuiltinCallPart,
    BuiltinResultPart,
    Message,
    Part,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from openscope.core.tool_runner import BuiltinToolRunner

# What the model reads of a result no runner here can recall (a tool this server does not
# run, sent back by the client): its output, cut to this many characters.
MAX_UNKNOWN_RESULT_CHARS = 4_000
NO_RESULT = "No result of this call was kept."


def has_builtin_parts(messages: Iterable[Message]) -> bool:
    return any(
        isinstance(part, BuiltinCallPart | BuiltinResultPart)
        for message in messages
        for part in message.parts
    )


def earlier_results(messages: Iterable[Message]) -> tuple[BuiltinResultPart, ...]:
    """The built-in results in `messages`, oldest first."""
    return tuple(
        part
        for message in messages
        for part in message.parts
        if isinstance(part, BuiltinResultPart)
    )


class FunctionTurns:
    """Rewrites built-in parts as function turns. `function_name(kind)`: the name of the
    function the model calls for a tool (the one offered this request, else the tool's
    own name); `runners`: who recalls a result of their kind; `rewrites(kind)`: whether
    a tool's parts are rewritten (those of a tool the backend runs itself are left as
    they are)."""

    def __init__(
        self,
        runners: Mapping[BuiltinToolKind, BuiltinToolRunner],
        function_name: Callable[[BuiltinToolKind], str],
        rewrites: Callable[[BuiltinToolKind], bool] = lambda kind: True,
    ) -> None:
        self._runners = runners
        self._function_name = function_name
        self._rewrites = rewrites

    def rewrite(self, messages: Iterable[Message]) -> tuple[Message, ...]:
        out: list[Message] = []
        for message in messages:
            if any(
                isinstance(p, BuiltinCallPart | BuiltinResultPart) and self._rewrites(p.tool)
                for p in message.parts
            ):
                out.extend(self._split(message))
            else:
                out.append(message)
        return tuple(out)

    def _split(self, message: Message) -> list[Message]:
        """An assistant message with built-in parts, as assistant turns holding the calls
        and one tool turn per result, in the order they happened. A call whose result is
        missing gets a tool turn saying so: a template pairs every call with a result."""
        turns: list[Message] = []
        said: list[Part] = []
        pending: dict[str, BuiltinCallPart] = {}

        def flush() -> None:
            if said:
                turns.append(Message(Role.ASSISTANT, tuple(said), name=message.name))
                said.clear()

        for part in message.parts:
            if isinstance(part, BuiltinCallPart | BuiltinResultPart) and not self._rewrites(
                part.tool
            ):
                said.append(part)  # the backend's own run: left for it
            elif isinstance(part, BuiltinCallPart):
                said.append(ToolCallPart(part.id, self._function_name(part.tool), part.arguments))
                pending[part.id] = part
            elif isinstance(part, BuiltinResultPart):
                call = pending.pop(part.call_id, None)
                if call is None:
                    continue  # a result of no call here: nothing to pair it with
                flush()
                turns.append(self._result(call, self._recall(part), part.status == "failed"))
            else:
                if pending:
                    flush()
                    turns.extend(self._result(c, NO_RESULT, True) for c in pending.values())
                    pending.clear()
                said.append(part)
        flush()
        turns.extend(self._result(c, NO_RESULT, True) for c in pending.values())
        return turns

    def _result(self, call: BuiltinCallPart, text: str, failed: bool) -> Message:
        result = ToolResultPart(call.id, (TextPart(text),), is_error=failed)
        return Message(Role.TOOL, (result,), name=self._function_name(call.tool))

    def _recall(self, result: BuiltinResultPart) -> str:
        runner = self._runners.get(result.tool)
        if runner is not None:
            return runner.recall(result)
        return result.output[:MAX_UNKNOWN_RESULT_CHARS] or NO_RESULT

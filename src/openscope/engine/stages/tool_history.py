"""Built-in tools' earlier runs in a request's history, as the model reads them again.

A chained turn (`previous_response_id`, a conversation) or a turn the client sends back
holds built-in call and result parts. Backends render only function calls and tool
results, so left as they are the model would not see what it searched or ran before.
Here each built-in call becomes a call of the tool's function and each result a tool turn
with what the model read of it, as far as the stored output keeps it (the runner's
`recall`). The parts themselves are what a runner with state reads (`earlier_results`).

An MCP server's parts (`core.mcp`) read as its tools' functions (`<label>-<tool>`): a
listing not at all (its tools are offered), a call as a call of its function with its
result, an approval request as the call it asks for, answered where it was asked with what
came of it (the result of the call that carried it out, the user's refusal, or that no
approval came), and the client's approval itself not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from openscope.core.builtin_tools import BuiltinToolKind
from openscope.core.mcp import McpApproval, McpCallStep, McpStep, function_name
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
NOT_APPROVED = "Not run: the call needed the user's approval, which was not given."


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
        messages = tuple(messages)
        mcp = _McpHistory(messages)
        out: list[Message] = []
        for message in messages:
            if any(
                isinstance(p, BuiltinCallPart | BuiltinResultPart) and self._rewrites(p.tool)
                for p in message.parts
            ):
                out.extend(self._split(message, mcp))
            else:
                out.append(message)
        return tuple(out)

    def _split(self, message: Message, mcp: _McpHistory) -> list[Message]:
        """An assistant message with built-in parts, as assistant turns holding the calls
        and one tool turn per result, in the order they happened. A call whose result is
        missing gets a tool turn saying so: a template pairs every call with a result."""
        turns: list[Message] = []
        said: list[Part] = []
        pending: dict[str, BuiltinCallPart] = {}
        skipped: set[str] = set()  # MCP calls whose parts the model does not read

        def flush() -> None:
            if said:
                turns.append(Message(Role.ASSISTANT, tuple(said), name=message.name))
                said.clear()

        for part in message.parts:
            if isinstance(part, BuiltinCallPart | BuiltinResultPart) and not self._rewrites(
                part.tool
            ):
                said.append(part)  # the backend's own run: left for it
            elif isinstance(part, BuiltinCallPart) and part.tool is BuiltinToolKind.MCP:
                step = McpCallStep.from_json(part.arguments)
                if step is None or not mcp.reads(step):
                    skipped.add(part.id)
                    continue
                name = function_name(step.server_label, step.name)
                said.append(ToolCallPart(part.id, name, step.arguments))
                pending[part.id] = part
            elif isinstance(part, BuiltinCallPart):
                said.append(ToolCallPart(part.id, self._function_name(part.tool), part.arguments))
                pending[part.id] = part
            elif isinstance(part, BuiltinResultPart):
                if part.call_id in skipped or (
                    part.tool is BuiltinToolKind.MCP and McpApproval.from_json(part.output)
                ):
                    continue  # read elsewhere (an approval, at its request) or not at all
                call = pending.pop(part.call_id, None)
                if call is None:
                    continue  # a result of no call here: nothing to pair it with
                flush()
                turns.append(self._result(call, self._recall(part), part.status == "failed"))
            else:
                if pending:
                    flush()
                    turns.extend(self._unanswered(c, mcp) for c in pending.values())
                    pending.clear()
                said.append(part)
        flush()
        turns.extend(self._unanswered(c, mcp) for c in pending.values())
        return turns

    def _unanswered(self, call: BuiltinCallPart, mcp: _McpHistory) -> Message:
        """The tool turn of a call with no result beside it: an MCP approval request's
        outcome, else that none was kept."""
        step = McpCallStep.from_json(call.arguments) if call.tool is BuiltinToolKind.MCP else None
        if step is None or step.step is not McpStep.APPROVAL_REQUEST:
            return self._result(call, NO_RESULT, True)
        done = mcp.carried_out.get(step.approval_request_id or "")
        if done is not None:
            return self._result(call, self._recall(done), done.status == "failed")
        answer = mcp.answers.get(step.approval_request_id or "")
        if answer is not None and not answer.approve:
            reason = f" ({answer.reason})" if answer.reason else ""
            return self._result(call, f"Not run: the user declined this call{reason}.", True)
        return self._result(call, NOT_APPROVED, True)

    def _result(self, call: BuiltinCallPart, text: str, failed: bool) -> Message:
        result = ToolResultPart(call.id, (TextPart(text),), is_error=failed)
        return Message(Role.TOOL, (result,), name=self._name(call))

    def _name(self, call: BuiltinCallPart) -> str:
        if call.tool is BuiltinToolKind.MCP:
            step = McpCallStep.from_json(call.arguments)
            if step is not None:
                return function_name(step.server_label, step.name)
        return self._function_name(call.tool)

    def _recall(self, result: BuiltinResultPart) -> str:
        runner = self._runners.get(result.tool)
        if runner is not None:
            return runner.recall(result)
        return result.output[:MAX_UNKNOWN_RESULT_CHARS] or NO_RESULT


class _McpHistory:
    """What a conversation says of its MCP approvals: the client's answers and the results
    of the calls that carried approved requests out, by the request's id."""

    def __init__(self, messages: Iterable[Message]) -> None:
        self.answers: dict[str, McpApproval] = {}
        self.carried_out: dict[str, BuiltinResultPart] = {}
        self._requests: set[str] = set()
        runs: dict[str, str] = {}  # call part id -> the approval request it carried out
        for message in messages:
            for part in message.parts:
                if isinstance(part, BuiltinCallPart) and part.tool is BuiltinToolKind.MCP:
                    step = McpCallStep.from_json(part.arguments)
                    if step is None or step.approval_request_id is None:
                        continue
                    if step.step is McpStep.APPROVAL_REQUEST:
                        self._requests.add(step.approval_request_id)
                    elif step.step is McpStep.CALL:
                        runs[part.id] = step.approval_request_id
                elif isinstance(part, BuiltinResultPart) and part.tool is BuiltinToolKind.MCP:
                    approval = McpApproval.from_json(part.output)
                    if approval is not None:
                        self.answers[part.call_id] = approval
                    elif part.call_id in runs:
                        self.carried_out[runs[part.call_id]] = part

    def reads(self, step: McpCallStep) -> bool:
        """Whether the model reads this part as a call: not a listing, not a call that
        carried out an approval request the history holds (read at the request)."""
        if step.step is McpStep.LIST_TOOLS:
            return False
        if step.step is McpStep.CALL and step.approval_request_id is not None:
            return step.approval_request_id not in self._requests
        return step.step is not McpStep.APPROVAL_RESPONSE

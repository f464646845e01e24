"""The MCP servers of one request, for the tool loop: their tools listed (or found listed in
the conversation), offered to the model as functions, and the calls the client approved
since the last turn run, all before the model's first round.

Each server's tools are listed once per conversation: a completed `mcp_list_tools` in the
history stands for the server's tools; otherwise the server is asked, and the listing is a
part of this answer (a call part and its result, `core.mcp`), whether it worked or not (a
failed listing offers nothing of that server; the next turn asks again). The functions are
`<server_label>-<tool>`, only the tools `allowed_tools` names.

A call to a tool that needs approval (`require_approval`) is not run: its call part says
it waits (`mcp_approval_request`, marked `issued`) and the answer ends there. A later turn
whose input answers it (`mcp_approval_response`) runs the approved ones here, each as an
`mcp_call` naming the request it carries out; declined ones are not run (the model reads
that the user declined). Only requests this server issued are carried out: they reach a
later turn through the stored history (`previous_response_id`, a conversation), as a
request a client writes into `input` is never marked issued; approving one of those is a
400. The approved calls share the request's one total tool time with the loop's runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field

from openscope.core import ids
from openscope.core.builtin_tools import BuiltinToolKind, Mcp
from openscope.core.call import Call
from openscope.core.errors import InvalidParameter
from openscope.core.events import Event, PartDelta, PartEnd, PartKind, PartStart
from openscope.core.mcp import (
    McpApproval,
    McpCallStep,
    McpRunner,
    McpStep,
    McpToolInfo,
    McpUnavailable,
    function_name,
    listed_output,
    listed_tools,
)
from openscope.core.messages import BuiltinCallPart, BuiltinResultPart, Message, Role
from openscope.core.request import GenerateRequest, ToolSpec
from openscope.core.tool_runner import ToolContext, ToolOutcome
from openscope.core.turns import output_item_id_for
from openscope.engine.stages.tool_round import Offered, RoundPart

MCP = BuiltinToolKind.MCP

# Runs one MCP call (the loop's own run: its timeouts, its failures as outcomes).
RunCall = Callable[[RoundPart], Awaitable[ToolOutcome]]


def mcp_specs(request: GenerateRequest) -> tuple[Mcp, ...]:
    return tuple(t for t in request.builtin_tools if isinstance(t, Mcp))


def listed_in(messages: Iterable[Message]) -> dict[str, tuple[McpToolInfo, ...]]:
    """Each server's tools as the latest completed listing in `messages` gave them."""
    lists: dict[str, tuple[McpToolInfo, ...]] = {}
    labels: dict[str, str] = {}
    for message in messages:
        for part in message.parts:
            if isinstance(part, BuiltinCallPart) and part.tool is MCP:
                step = McpCallStep.from_json(part.arguments)
                if step is not None and step.step is McpStep.LIST_TOOLS:
                    labels[part.id] = step.server_label
            elif isinstance(part, BuiltinResultPart) and part.tool is MCP:
                label = labels.get(part.call_id)
                if label is not None and part.status == "completed":
                    lists[label] = listed_tools(part.output)
    return lists


def functions(spec: Mcp, tools: Iterable[McpToolInfo], runner: McpRunner) -> dict[str, Offered]:
    """The functions the model is offered for a server's allowed tools, by name."""
    offered: dict[str, Offered] = {}
    for tool in tools:
        if not spec.allows(tool.name):
            continue
        name = function_name(spec.server_label, tool.name)
        about = tool.description or f"The {tool.name} tool of the MCP server {spec.server_label}."
        if spec.server_description:
            # what the request says of the server (Model Studio's `server_description`)
            about = f"{about}\n(MCP server {spec.server_label}: {spec.server_description})"
        schema = tool.input_schema or {"type": "object", "properties": {}}
        offered[name] = Offered(spec, runner, ToolSpec(name, about, schema), mcp_tool=tool.name)
    return offered


def merge(
    offered: dict[str, Offered], more: Mapping[str, Offered], request: GenerateRequest
) -> None:
    """Add an MCP server's functions; a name already taken is a 400 naming it."""
    taken = {tool.name for tool in request.tools}
    for name, o in more.items():
        if name in offered or name in taken:
            label = o.spec.server_label if isinstance(o.spec, Mcp) else ""
            raise InvalidParameter(
                f"The function name {name} of the MCP server '{label}' is taken by another "
                "tool in this request.",
                param="tools",
            )
        offered[name] = o


def seal(call: Call, part: RoundPart) -> str:
    """An MCP call part's text: the call, or its approval request (its id is the id of
    the item that shows it, which the client answers with)."""
    assert part.builtin is not None and part.builtin.mcp_tool is not None
    spec = part.builtin.spec
    assert isinstance(spec, Mcp)
    tool, arguments = part.builtin.mcp_tool, part.text
    if not spec.require_approval.needed(tool):
        return McpCallStep(McpStep.CALL, spec.server_label, tool, arguments).to_json()
    approval_id = (
        output_item_id_for(PartKind.BUILTIN_CALL, call.turn.response_id, part.index)
        if call.turn is not None
        else ids.input_item_id("mcpr")
    )
    step = McpStep.APPROVAL_REQUEST
    asked = McpCallStep(step, spec.server_label, tool, arguments, approval_id, issued=True)
    return asked.to_json()


def waits_for_approval(part: RoundPart) -> bool:
    step = McpCallStep.from_json(part.sealed) if part.sealed is not None else None
    return step is not None and step.step is McpStep.APPROVAL_REQUEST


def approved_unrun(messages: Iterable[Message]) -> list[tuple[str, McpCallStep]]:
    """The approval requests this server issued that the client approved in `messages`
    and no call carried out yet, by their ids, oldest first. An answer to no request there,
    or to a request the server did not issue (one the client wrote into `input`), is a
    400."""
    requests: dict[str, McpCallStep] = {}
    written: set[str] = set()  # requests only a client wrote
    done: set[str] = set()
    answers: list[tuple[str, McpApproval]] = []
    for message in messages:
        for part in message.parts:
            if isinstance(part, BuiltinCallPart) and part.tool is MCP:
                step = McpCallStep.from_json(part.arguments)
                if step is None or step.approval_request_id is None:
                    continue
                if step.step is McpStep.APPROVAL_REQUEST and step.issued:
                    requests[step.approval_request_id] = step
                elif step.step is McpStep.APPROVAL_REQUEST:
                    written.add(step.approval_request_id)
                elif step.step is McpStep.CALL:
                    done.add(step.approval_request_id)
            elif isinstance(part, BuiltinResultPart) and part.tool is MCP:
                approval = McpApproval.from_json(part.output)
                if approval is not None:
                    answers.append((part.call_id, approval))
    unrun: list[tuple[str, McpCallStep]] = []
    for request_id, approval in answers:
        asked = requests.get(request_id)
        if asked is None and request_id in written:
            raise InvalidParameter(
                f"Invalid 'input': the mcp_approval_request '{request_id}' was not issued by "
                "this server. Answer a request of a stored response (previous_response_id) "
                "or of the conversation.",
                param="input",
            )
        if asked is None:
            raise InvalidParameter(
                f"Invalid 'input': no mcp_approval_request with id '{request_id}' in this "
                "conversation.",
                param="input",
            )
        if approval.approve and request_id not in done:
            done.add(request_id)
            unrun.append((request_id, asked))
    return unrun


def check_no_approvals(messages: Iterable[Message]) -> None:
    """A request without MCP servers carries out no approval: one waiting is a 400."""
    for request_id, asked in approved_unrun(messages):
        raise _needs_server(request_id, asked.server_label)


def _needs_server(request_id: str, label: str) -> InvalidParameter:
    return InvalidParameter(
        f"Invalid 'tools': the approved call {request_id} needs the mcp tool with "
        f"server_label '{label}' in this request's tools.",
        param="tools",
    )


def part_events(index: int, call: BuiltinCallPart, result: BuiltinResultPart) -> list[Event]:
    kind = str(MCP)
    return [
        PartStart(0, index, PartKind.BUILTIN_CALL, call.id, kind),
        PartDelta(0, index, call.arguments),
        PartEnd(0, index),
        PartStart(0, index + 1, PartKind.BUILTIN_RESULT, call.id, kind, status=result.status),
        PartDelta(0, index + 1, result.output),
        PartEnd(0, index + 1),
    ]


@dataclass(slots=True)
class McpStart:
    """What the MCP servers of a request add before the model's first round: the events
    of the listings and approved calls (parts from `first_part` on), the functions to
    offer, and the parts to add to the conversation."""

    specs: tuple[Mcp, ...]
    runner: McpRunner
    first_part: int
    offered: dict[str, Offered] = field(default_factory=dict)
    parts: list[BuiltinCallPart | BuiltinResultPart] = field(default_factory=list)

    @property
    def next_part(self) -> int:
        return self.first_part + len(self.parts)

    @property
    def message(self) -> Message | None:
        return Message(Role.ASSISTANT, tuple(self.parts)) if self.parts else None

    async def events(
        self, call: Call, messages: tuple[Message, ...], run: RunCall
    ) -> AsyncGenerator[Event, None]:
        workspace = call.principal.workspace
        self.specs = tuple(self._resolved(spec, workspace) for spec in self.specs)
        labels = [spec.server_label for spec in self.specs]
        if len(set(labels)) != len(labels):
            raise InvalidParameter(
                "Invalid 'tools': each mcp tool needs a server_label of its own.", param="tools"
            )
        known = listed_in(messages)
        todo = [spec for spec in self.specs if spec.server_label not in known]
        context = ToolContext(call.request_id, call.principal.workspace, call.deadline)
        found = await asyncio.gather(*(self._list(spec, context) for spec in todo))
        for spec, (tools, error) in zip(todo, found, strict=True):
            step = McpCallStep(McpStep.LIST_TOOLS, spec.server_label)
            call_part = BuiltinCallPart(ids.tool_call_id(), MCP, step.to_json())
            status = "failed" if error is not None else "completed"
            output = listed_output(tools, error)
            for event in self._add(call_part, BuiltinResultPart(call_part.id, MCP, output, status)):
                yield event
            known[spec.server_label] = tools
        for spec in self.specs:
            merge(
                self.offered,
                functions(spec, known.get(spec.server_label, ()), self.runner),
                call.request,
            )
        for event_ in await self._approved(messages, run):
            yield event_

    def _resolved(self, spec: Mcp, workspace: str) -> Mcp:
        """A server named by its label, as the settings declare it (a server kept to
        other workspaces is refused: `PermissionDenied`)."""
        if not spec.declared:
            return spec
        declared = self.runner.declared(spec.server_label, workspace)
        if declared is None:
            raise InvalidParameter(
                f"Invalid 'mcp_servers': no MCP server '{spec.server_label}' is declared on "
                "this server.",
                param="mcp_servers",
            )
        return declared

    async def _list(
        self, spec: Mcp, context: ToolContext
    ) -> tuple[tuple[McpToolInfo, ...], str | None]:
        try:
            return await self.runner.list_tools(spec, context), None
        except McpUnavailable as error:
            return (), str(error) or "the server's tools could not be listed"

    def _add(self, call_part: BuiltinCallPart, result: BuiltinResultPart) -> list[Event]:
        events = part_events(self.next_part, call_part, result)
        self.parts += [call_part, result]
        return events

    async def _approved(self, messages: tuple[Message, ...], run: RunCall) -> list[Event]:
        """Run the approved calls not run yet."""
        events: list[Event] = []
        by_label = {spec.server_label: spec for spec in self.specs}
        for request_id, asked in approved_unrun(messages):
            spec = by_label.get(asked.server_label)
            if spec is None:
                raise _needs_server(request_id, asked.server_label)
            step = McpCallStep(
                McpStep.CALL, spec.server_label, asked.name, asked.arguments, request_id
            )
            call_part = BuiltinCallPart(ids.tool_call_id(), MCP, step.to_json())
            outcome = await run(self._round_part(spec, asked))
            result = BuiltinResultPart(call_part.id, MCP, outcome.output, outcome.status)
            events += self._add(call_part, result)
        return events

    def _round_part(self, spec: Mcp, asked: McpCallStep) -> RoundPart:
        function = ToolSpec(function_name(spec.server_label, asked.name))
        offered = Offered(spec, self.runner, function, mcp_tool=asked.name)
        return RoundPart(
            PartKind.TOOL_CALL, self.next_part, chunks=[asked.arguments], builtin=offered
        )

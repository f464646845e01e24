"""Tool loop: the built-in tools a request names run here, between model turns.

Each built-in tool the loop runs for a request (one with a runner, on a backend that can
call functions and does not run the tool itself) is offered to the model as a function
beside the client's own. The model's events stream to the client as they come, but for its
calls to those functions: each becomes a built-in call part (a fresh id, the arguments as
the model writes them) and, once its runner is done, a built-in result part (the outcome's
JSON and status). The call and the result the model reads then go into the conversation,
and the model is called again. The answer ends when the model answers without a built-in
call, calls a client function (the client runs it, as without the loop), or a limit is hit:

- `max_rounds` rounds of tools run: a last turn without the built-ins offered, so the model
  answers with what it has;
- `tool_timeout` for one run: the run is cancelled, and a failed result is what the model
  reads and the client sees;
- `total_tool_time` spent running tools: calls past it are not run (a failed result), and a
  last turn follows without the built-ins;
- a tool's own `max_uses` (Anthropic's web search): its calls past that many are not run (a
  failed result naming `max_uses_exceeded`); the others go on.

A failure of a tool is never a silent empty result and never an error of the call: the
runner's failed outcome, an exception it raised, a timeout, arguments that are not a JSON
object all become a failed result. A client that leaves while a tool runs cancels the run.

The stream stays one answer: part indices go on from round to round, there is exactly one
`ChoiceEnd`, and each `UsageReport` carries the totals of the rounds so far (the last one
is the sum of every round), so the meter outside the loop writes one record with the
summed usage. A request that needs none of this passes through with no hop.

A tool that searches by an image of the input (`image_search`) gets the input's images and
`describe` in its `ToolContext`: a short sub-request to the same model (the image and an
instruction, no tools, no thinking) whose text is the answer. Its usage is added to the
answer's: the reports after it, and the last one, include its tokens; it does not count
against the answer's `max_tokens` (which bounds what the client is answered)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import replace

from openscope.backends.base import Backend, BackendFeatures
from openscope.core.builtin_tools import (
    BuiltinTool,
    BuiltinToolKind,
    Mcp,
    SearchFailure,
    WebSearch,
)
from openscope.core.call import Call
from openscope.core.errors import InvalidParameter
from openscope.core.events import (
    ChoiceEnd,
    Event,
    FinishReason,
    PartDelta,
    PartEnd,
    PartKind,
    PartStart,
    Usage,
    UsageReport,
)
from openscope.core.mcp import McpRunner
from openscope.core.messages import BuiltinResultPart, Message, Role
from openscope.core.request import (
    GenerateRequest,
    ToolChoice,
    ToolChoiceMode,
)
from openscope.core.tool_runner import (
    BuiltinToolRunner,
    ChecksBeforeGenerating,
    ToolContext,
    ToolOutcome,
)
from openscope.engine.pipeline import Next
from openscope.engine.routing import Router
from openscope.engine.stages.tool_history import FunctionTurns, earlier_results, has_builtin_parts
from openscope.engine.stages.tool_mcp import (
    McpStart,
    check_no_approvals,
    functions,
    listed_in,
    mcp_specs,
    merge,
    seal,
    waits_for_approval,
)
from openscope.engine.stages.tool_round import Offered, Round, RoundPart, history_of
from openscope.engine.stages.tool_sight import AsideUsage, Sight, sight_of

log = logging.getLogger("openscope.tools")

# Model Studio's agent search strategies run a handful of searches; eight rounds leave room
# for a search, a page read and a computation each time without letting a model loop on.
DEFAULT_MAX_ROUNDS = 8
# A search or a page read takes seconds; a code cell gets the most. This is the loop's bound
# over any runner, above the sandbox's own 60 s a cell plus its start: the sandbox's own
# failure, which keeps the cell's logs and its container, comes first.
DEFAULT_TOOL_TIMEOUT = 90.0
DEFAULT_TOTAL_TOOL_TIME = 300.0


def _failed(message: str, code: SearchFailure | None = None) -> ToolOutcome:
    output = {"error": message} | ({"error_code": str(code)} if code is not None else {})
    return ToolOutcome(for_model=message, output=json.dumps(output), status="failed")


def _past_max_uses(call: RoundPart, uses: dict[str, int]) -> ToolOutcome | None:
    """The failed outcome of a call past its tool's limit (Anthropic's `max_uses`, chat's
    search strategy: only web search has one), else None, counting the call as a use."""
    assert call.builtin is not None
    name, spec = call.builtin.function.name, call.builtin.spec
    limit = _most_uses(spec)
    if limit is not None and uses.get(name, 0) >= limit:
        times = "once" if limit == 1 else f"{limit} times"
        message = f"Not run: {name} may be used at most {times} in this request."
        return _failed(message, SearchFailure.MAX_USES_EXCEEDED)
    uses[name] = uses.get(name, 0) + 1
    return None


def _most_uses(spec: BuiltinTool) -> int | None:
    return spec.most_searches if isinstance(spec, WebSearch) else None


def _unspent(offered: Mapping[str, Offered], uses: Mapping[str, int]) -> dict[str, Offered]:
    """The built-ins still offered: a tool whose uses are spent is no longer shown, so the
    model answers with what it has instead of calling it for a refusal."""
    return {
        name: o
        for name, o in offered.items()
        if (limit := _most_uses(o.spec)) is None or uses.get(name, 0) < limit
    }


def _result_part(call: RoundPart, outcome: ToolOutcome) -> BuiltinResultPart:
    assert call.builtin is not None
    return BuiltinResultPart(call.call_id, call.builtin.spec.kind, outcome.output, outcome.status)


def _result_events(call: RoundPart, index: int, outcome: ToolOutcome) -> list[Event]:
    assert call.builtin is not None
    kind = str(call.builtin.spec.kind)
    start = PartStart(0, index, PartKind.BUILTIN_RESULT, call.call_id, kind, status=outcome.status)
    body = [PartDelta(0, index, outcome.output)] if outcome.output else []
    return [start, *body, PartEnd(0, index)]


def _forced(request: GenerateRequest, offered: Mapping[str, Offered]) -> str | None:
    """The built-in function the first turn must call: the one `tool_choice` names (by
    its function's name or its tool type), else web search with `forced_search`."""
    choice = request.tool_choice
    if choice.mode is ToolChoiceMode.NAMED:
        return next(
            (name for name, o in offered.items() if choice.name in (name, str(o.spec.kind))),
            None,
        )
    if choice.mode is ToolChoiceMode.NONE:
        return None
    for name, o in offered.items():
        if isinstance(o.spec, WebSearch) and o.spec.forced:
            return name
    return None


def _choice(request: GenerateRequest, offered: Mapping[str, Offered], first: bool) -> ToolChoice:
    """The first turn keeps the client's choice (a forced built-in call made by name);
    later turns choose freely, among the built-ins only while they are offered."""
    choice = request.tool_choice
    allowed = None
    if choice.allowed is not None:
        # A client that narrowed the tools narrowed the built-ins too: only those it names
        # (by function or by tool type) may be called, never one it left out.
        named = [n for n, o in offered.items() if {n, str(o.spec.kind)} & set(choice.allowed)]
        allowed = (*choice.allowed, *named)
    if first:
        forced = _forced(request, offered)
        if forced is not None:
            return ToolChoice(ToolChoiceMode.NAMED, name=forced, allowed=allowed)
        return replace(choice, allowed=allowed)
    if choice.mode is ToolChoiceMode.NONE:
        return choice
    return ToolChoice(ToolChoiceMode.AUTO, allowed=allowed)


class ToolLoop:
    def __init__(
        self,
        runners: Mapping[BuiltinToolKind, BuiltinToolRunner],
        *,
        router: Router,
        backends: Mapping[str, Backend],
        max_rounds: int = DEFAULT_MAX_ROUNDS,
        tool_timeout: float = DEFAULT_TOOL_TIMEOUT,
        total_tool_time: float = DEFAULT_TOTAL_TOOL_TIME,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`runners` by the kind of tool they run; `router` and `backends` tell which
        tools a route's backend runs itself. `max_rounds`: rounds of tool runs before a
        last turn without the built-ins; `tool_timeout` (seconds): one run's limit;
        `total_tool_time` (seconds): the time all runs of a request may take. `monotonic`
        is the clock tool time is measured on (and the call's deadline is on)."""
        for kind, runner in runners.items():
            if runner.kind is not kind:
                raise ValueError(f"the runner given for {kind} runs {runner.kind}")
        mcp = runners.get(BuiltinToolKind.MCP)
        if mcp is not None and not isinstance(mcp, McpRunner):
            raise ValueError("the runner given for mcp does not list and call MCP tools")
        if max_rounds < 1 or tool_timeout <= 0 or total_tool_time <= 0:
            raise ValueError("the tool loop's limits must be positive")
        self._runners = dict(runners)
        self._mcp = mcp if isinstance(mcp, McpRunner) else None
        self._router = router
        self._backends = backends
        self._max_rounds = max_rounds
        self._tool_timeout = tool_timeout
        self._total_tool_time = total_tool_time
        self._monotonic = monotonic

    def as_the_model_sees_it(self, request: GenerateRequest) -> GenerateRequest:
        """`request` as the model's first turn reads it: the built-ins run here offered as
        functions beside the client's, earlier runs as function turns (what count_tokens
        counts, as Anthropic's does with its server tools)."""
        offered = self._offered(request)
        mcp = self._mcp_specs(request)
        if mcp and self._mcp is not None:
            # Only the servers listed in the history are known without asking them.
            lists = listed_in(request.messages)
            for spec in mcp:
                tools = lists.get(spec.server_label, ())
                merge(offered, functions(spec, tools, self._mcp), request)
        request = self._with_history_as_calls(request, offered)
        if not offered and not mcp:
            return request
        runs_here = {o.spec.kind for o in offered.values()} | {s.kind for s in mcp}
        return replace(
            request,
            tools=(*request.tools, *(o.function for o in offered.values())),
            builtin_tools=tuple(t for t in request.builtin_tools if t.kind not in runs_here),
        )

    def _with_history_as_calls(
        self, request: GenerateRequest, offered: Mapping[str, Offered]
    ) -> GenerateRequest:
        """Earlier runs in the history as function turns: the model reads them so. Only on
        a backend that calls functions, and only for the tools it does not run itself (a
        Model Studio upstream keeps its own runs, which it is not sent as function calls)."""
        if not has_builtin_parts(request.messages):
            return request
        features = self._features(request)
        if not features.tools:
            return request
        kinds = {str(o.spec.kind): name for name, o in offered.items()}
        turns = FunctionTurns(
            self._runners,
            lambda kind: kinds.get(str(kind), str(kind)),
            rewrites=lambda kind: kind not in features.builtin_tools,
        )
        return replace(request, messages=turns.rewrite(request.messages))

    def __call__(self, call: Call, next: Next) -> AsyncGenerator[Event, None]:
        offered = self._offered(call.request)
        mcp = self._mcp_specs(call.request)
        earlier: tuple[BuiltinResultPart, ...] = ()
        if has_builtin_parts(call.request.messages):
            # A runner finds its state in the earlier runs' results; the model reads them
            # as function turns (once the MCP servers' work before the first round is done).
            earlier = earlier_results(call.request.messages)
            if not mcp:
                check_no_approvals(call.request.messages)
                call = replace(call, request=self._with_history_as_calls(call.request, offered))
        if not offered and not mcp:
            return next(call)  # nothing to run here: no hop
        # (n > 1 beside a built-in tool is refused by the core rules, before admission)
        return self._loop(call, offered, next, earlier, mcp)

    def _mcp_specs(self, request: GenerateRequest) -> tuple[Mcp, ...]:
        """The MCP servers this loop works with for `request` (none without a runner, or on
        a backend that runs them itself or calls no functions)."""
        specs = mcp_specs(request)
        if not specs or self._mcp is None:
            return ()
        features = self._features(request)
        if not features.tools or BuiltinToolKind.MCP in features.builtin_tools:
            return ()
        return specs

    def _features(self, request: GenerateRequest) -> BackendFeatures:
        route = self._router.resolve(request.model).route
        return self._backends[route.backend].features(route.model)

    def _offered(self, request: GenerateRequest) -> dict[str, Offered]:
        """The built-in tools this loop runs for `request`, by their function's name."""
        if not request.builtin_tools:
            return {}
        features = self._features(request)
        if not features.tools:
            return {}  # nothing to offer them as (Resolve refused them, or lets them by)
        offered: dict[str, Offered] = {}
        for spec in request.builtin_tools:
            runner = self._runners.get(spec.kind)
            if runner is None or spec.kind in features.builtin_tools or isinstance(spec, Mcp):
                # no runner, or the backend runs it itself (a Model Studio upstream); an MCP
                # server's functions are known once its tools are listed (`McpStart`)
                continue
            function = runner.function(spec)
            offered.setdefault(function.name, Offered(spec, runner, function))
        for tool in request.tools:
            if tool.name in offered:
                raise InvalidParameter(
                    f"The tool name {tool.name} is taken by the built-in tool "
                    f"{offered[tool.name].spec.kind} in this request.",
                    param="tools",
                )
        return offered

    async def _loop(
        self,
        call: Call,
        offered: dict[str, Offered],
        next: Next,
        earlier: tuple[BuiltinResultPart, ...],
        mcp: tuple[Mcp, ...] = (),
    ) -> AsyncGenerator[Event, None]:
        aside = AsideUsage()
        sight = sight_of(call, next, aside)
        next_part = 0
        tool_time = 0.0  # spent running tools, approved MCP calls included
        if mcp:
            assert self._mcp is not None
            start = McpStart(mcp, self._mcp, next_part)

            async def run_approved(part: RoundPart) -> ToolOutcome:
                nonlocal tool_time
                started = self._monotonic()
                time_left = self._total_tool_time - tool_time
                try:
                    return await self._run(part, call, time_left, earlier, sight)
                finally:
                    tool_time += self._monotonic() - started

            async for event in start.events(call, call.request.messages, run_approved):
                yield event
            offered = {**offered}
            merge(offered, start.offered, call.request)
            next_part = start.next_part
            done = start.message
            messages = call.request.messages + ((done,) if done is not None else ())
            request = replace(call.request, messages=messages)
            earlier = (*earlier, *(p for p in start.parts if isinstance(p, BuiltinResultPart)))
            call = replace(call, request=self._with_history_as_calls(request, offered))
        original = call.request
        # Before the first turn, so that a tool that cannot run for this caller refuses
        # the request before any event (the first `anext` raises).
        for runs in offered.values():
            if isinstance(runs.runner, ChecksBeforeGenerating):
                await runs.runner.check(runs.spec, call.principal.workspace)
        # The backend is not asked to run what runs here (specs hold dicts: by kind).
        runs_here = {o.spec.kind for o in offered.values()} | {s.kind for s in mcp}
        base = replace(
            original,
            builtin_tools=tuple(t for t in original.builtin_tools if t.kind not in runs_here),
        )
        messages = original.messages
        usage = Usage()
        rounds = 0
        uses: dict[str, int] = {}  # runs so far, by function name (for `max_uses`)
        with_builtins = tool_time < self._total_tool_time
        while True:
            shown = _unspent(offered, uses) if with_builtins else {}
            request = replace(
                base,
                messages=messages,
                tools=(*base.tools, *(o.function for o in shown.values())),
                tool_choice=_choice(original, shown, first=rounds == 0),
                sampling=replace(base.sampling, max_tokens=_left(original, usage)),
            )
            turn = Round(offered, next_part, usage + aside.usage, lambda part: seal(call, part))
            async with aclosing(next(replace(call, request=request))) as events:
                async for event in events:
                    for out in turn.take(event):
                        yield out
            usage = usage + turn.usage
            next_part = turn.next_part
            calls = turn.builtin_calls
            if not calls:
                return  # answered (its finish went by) or a client function called
            stop = _stop(turn, with_builtins)
            outcomes: list[ToolOutcome] = []
            awaiting = False
            for tool_call in calls:
                if waits_for_approval(tool_call) and stop is not FinishReason.LENGTH:
                    # not run: the answer ends, the client approves or declines it
                    awaiting = True
                    outcomes.append(_failed("Not run: waiting for the user's approval."))
                    continue
                if stop is FinishReason.LENGTH:
                    outcome = _failed("Not run: the answer reached its maximum length first.")
                elif not with_builtins:
                    outcome = _failed("Not run: this request's tool calls are used up.")
                elif (spent := _past_max_uses(tool_call, uses)) is not None:
                    outcome = spent
                else:
                    started = self._monotonic()
                    time_left = self._total_tool_time - tool_time
                    outcome = await self._run(tool_call, call, time_left, earlier, sight)
                    tool_time += self._monotonic() - started
                outcomes.append(outcome)
                earlier = (*earlier, _result_part(tool_call, outcome))
                for out in _result_events(tool_call, next_part, outcome):
                    yield out
                next_part += 1
            rounds += 1
            if stop is None and awaiting:
                stop = FinishReason.TOOL_CALLS
            if stop is None and _left(original, usage) == 0:
                stop = FinishReason.LENGTH
            if stop is not None:
                if aside.usage != Usage():
                    # what the tools asked of the model since the last report
                    yield UsageReport(usage + aside.usage)
                yield ChoiceEnd(0, stop)
                return
            messages = (*messages, *history_of(turn, outcomes))
            with_builtins = rounds < self._max_rounds and tool_time < self._total_tool_time

    async def _run(
        self,
        tool_call: RoundPart,
        call: Call,
        time_left: float,
        earlier: tuple[BuiltinResultPart, ...],
        sight: Sight,
    ) -> ToolOutcome:
        """One run of a built-in tool, within its time: a failure of any kind is a failed
        outcome; only the client leaving (a cancellation) goes on up, stopping the run."""
        offered = tool_call.builtin
        assert offered is not None
        name = offered.function.name
        try:
            arguments = json.loads(tool_call.text or "{}")
        except ValueError as error:
            return _failed(f"The arguments of {name} are not valid JSON ({error}).")
        if not isinstance(arguments, dict):
            return _failed(f"The arguments of {name} must be a JSON object.")
        if (
            offered.mcp_tool is not None
            and isinstance(offered.spec, Mcp)
            and not offered.spec.allows(offered.mcp_tool)
        ):
            return _failed(f"Not run: {name} is not among the server's allowed_tools.")
        timeout = min(self._tool_timeout, time_left)
        if call.deadline is not None:
            timeout = min(timeout, call.deadline - self._monotonic())
        if timeout <= 0:
            return _failed(f"Not run: no time was left for {name}.")
        context = ToolContext(
            call.request_id,
            call.principal.workspace,
            call.deadline,
            earlier,
            images=sight.images,
            describe=sight.describe,
            question=latest_question(call.request.messages),
        )
        try:
            async with asyncio.timeout(timeout):
                if offered.mcp_tool is not None and isinstance(offered.spec, Mcp):
                    assert self._mcp is not None
                    tool = offered.mcp_tool
                    return await self._mcp.call_tool(offered.spec, tool, arguments, context)
                return await offered.runner.run(offered.spec, arguments, context)
        except TimeoutError:
            return _failed(f"{name} did not finish within {timeout:.3g} seconds.")
        except Exception:
            log.exception("the built-in tool %s failed (request %s)", name, call.request_id)
            return _failed(f"{name} failed with an internal error.")


def latest_question(messages: Sequence[Message]) -> str | None:
    """The text of the latest user message that has any (one holding only images or a
    function's results is passed over); None when no user message has text."""
    for message in reversed(messages):
        text = message.text.strip() if message.role is Role.USER else ""
        if text:
            return text
    return None


def _stop(turn: Round, with_builtins: bool) -> FinishReason | None:
    """How the answer ends after this round's tool calls, or None to go on."""
    if turn.finish is FinishReason.LENGTH:
        return FinishReason.LENGTH  # a call cut short: its arguments are not whole
    if turn.client_called:
        return FinishReason.TOOL_CALLS  # the client runs its function, as without the loop
    if not with_builtins:
        return FinishReason.STOP  # the last turn called a tool it was not offered
    return None


def _left(request: GenerateRequest, usage: Usage) -> int | None:
    """The output the next turn may generate: `max_tokens` bounds the whole answer."""
    limit = request.sampling.max_tokens
    return None if limit is None else max(0, limit - usage.output_tokens)

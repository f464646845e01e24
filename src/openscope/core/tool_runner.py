"""The server's own tools as the tool loop runs them: each built-in tool a request names is
offered to the model as a function, in the model's own tool format, and run by the server
between model turns when the model calls it.

A runner is the seam between the loop (`openscope.engine`) and a tool's implementation
(`openscope.tools.<name>`): the loop knows no tool, a tool knows no loop. What a runner
returns is read twice: `for_model` goes back into the conversation as the tool's result,
`output` (JSON text) becomes the `BuiltinResultPart` the protocols encode (a Responses
`web_search_call`'s sources, a `code_interpreter_call`'s outputs)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from openscope.core.builtin_tools import BuiltinTool, BuiltinToolKind
from openscope.core.messages import BuiltinResultPart, ImagePart
from openscope.core.request import ToolSpec

ToolStatus = Literal["completed", "failed"]

# Asks the request's own model about an image: (the image, an instruction) -> its text
# answer. Raises the backend's error (an `OpenScopeError`) when the model cannot answer.
Describe = Callable[[ImagePart, str], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class ToolContext:
    """Who a tool runs for: the request (its id, in logs), the caller's workspace (a tool
    with state never crosses it), when the request must be done (seconds on
    `time.monotonic`, or None), and the results of the built-in tools that ran earlier in
    the conversation, oldest first: those in the request's history (an earlier turn of a
    chain, an item the client sent back) and those of this request's earlier rounds. A
    tool finds its state there (the container a code call ran in) and goes on from what
    the model has seen (a search numbers its sources after the earlier searches').

    For a tool that searches by an image of the input (`image_search`), the loop also
    gives `images`, the request's input images in order (a call names one by its index),
    and `describe`, which asks the request's own model about one of them (its tokens are
    the request's usage too); None when no offered tool needs it.

    `question`: the text of the request's latest user message (None: it has none), what a
    search looks for when the model's call names no query (Model Studio's file_search)."""

    request_id: str
    workspace: str
    deadline: float | None = None
    earlier: tuple[BuiltinResultPart, ...] = ()
    images: tuple[ImagePart, ...] = ()
    describe: Describe | None = None
    question: str | None = None


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """One run of a tool. `for_model`: the result as the model reads it. `output`: JSON
    text for the wire. A failure is an outcome too (`status="failed"`, `for_model` saying
    what went wrong): the model sees it and may answer or try again; nothing is silently
    empty."""

    for_model: str
    output: str
    status: ToolStatus = "completed"


class BuiltinToolRunner(Protocol):
    """Runs one kind of built-in tool."""

    @property
    def kind(self) -> BuiltinToolKind: ...

    def function(self, spec: BuiltinTool) -> ToolSpec:
        """The function the model is offered for `spec` (its name is the loop's key to
        this runner: unique among the runners of one request)."""
        ...

    async def run(
        self, spec: BuiltinTool, arguments: dict[str, Any], context: ToolContext
    ) -> ToolOutcome:
        """Run the tool on the model's `arguments` (already parsed from its call; they
        may be anything the model wrote). Never raises for a failure of the tool itself:
        returns a failed outcome. Cancelled when the client leaves: whatever it started
        (a process, a request) must stop then."""
        ...

    def recall(self, result: BuiltinResultPart) -> str:
        """What the model reads of an earlier run, known only by its wire `output` (a
        stored turn, an item the client sent back): what `for_model` said, as far as
        the output keeps it."""
        ...


@runtime_checkable
class ChecksBeforeGenerating(Protocol):
    """A runner that can tell before the model's first turn that its tool cannot run for
    this caller (a vector store the request names is missing, or another workspace's):
    the request is refused then, with the runner's error, before any byte of an answer,
    instead of the model meeting a failed call."""

    async def check(self, spec: BuiltinTool, workspace: str) -> None:
        """Raise the `OpenScopeError` the request is refused with; return if it may run."""
        ...

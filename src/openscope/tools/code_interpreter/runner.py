"""`CodeInterpreterRunner`: the sandbox as the tool loop runs it (`core.tool_runner`).

A container per conversation. A call runs in
1. the container the tool names (`CodeInterpreter.container_id`, OpenAI's `container`
   given as an id): when it is not live, or not the caller's workspace's, the call fails
   with "Container cntr_... was not found or has expired." (never a silent new one);
2. else the container of the latest code run the conversation holds (`ToolContext.earlier`:
   an earlier round of this request, an earlier turn of its chain or conversation, an item
   the client sent back), when it is live and the caller's workspace's; when it is not,
   a new one, and the logs open with a line telling the model its state is gone;
3. else a new container.
So a Responses chain keeps its variables and /mnt/data files from turn to turn, two
unrelated requests never share one, and no workspace ever runs in, or learns of, another
workspace's container (one that is not the caller's reads as not found). A container lives
until it has been idle for the policy's `idle_seconds` (20 min by default), is pushed out
by `max_containers`, its files pass `max_disk_bytes` (the call fails and the next one
starts in a new container, as above), or the server stops. Calls in one container run one
at a time (its lock).

The outcome's `output` is the JSON of the Responses `code_interpreter_call` item's own
fields (builtin-tools.md §3.4)::

    {"code": "...", "container_id": "cntr_...",
     "outputs": [{"type": "logs", "logs": "..."},
                 {"type": "image", "url": "data:image/png;base64,..."}]}

The logs entry always comes first (clients read `outputs[0].logs`, as Model Studio's
recipe does), then one image entry per figure. Code that raises is a completed call (the
traceback is in the logs, for the model to fix); a sandbox failure (a limit, the timeout,
no bwrap) is a failed one whose logs end with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from openscope.core.builtin_tools import BuiltinTool, BuiltinToolKind, CodeInterpreter
from openscope.core.messages import BuiltinResultPart
from openscope.core.request import ToolSpec
from openscope.core.tool_runner import ToolContext, ToolOutcome
from openscope.tools.code_interpreter.containers import Containers, not_found_reason
from openscope.tools.code_interpreter.results import RunResult, SandboxFailed

FUNCTION_NAME = "code_interpreter"
DESCRIPTION = (
    "Run Python code in a sandbox and see what it prints. Variables and files (in the "
    "working directory, /mnt/data) are kept between calls; numpy, pandas, matplotlib and "
    "sympy are installed; there is no network. The value of a trailing expression is "
    "printed, and matplotlib figures are shown to the user as images."
)
PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"code": {"type": "string", "description": "The Python code to run."}},
    "required": ["code"],
}
# The logs the model reads are cut to this many characters (head and tail kept); the
# client's item carries them whole, up to the sandbox's own output cap.
DEFAULT_MAX_LOGS_FOR_MODEL = 20_000


class CodeInterpreterRunner:
    """Runs `code_interpreter` calls in `containers`, one container per conversation."""

    def __init__(
        self, containers: Containers, *, max_logs_for_model: int = DEFAULT_MAX_LOGS_FOR_MODEL
    ) -> None:
        if max_logs_for_model < 100:
            raise ValueError("max_logs_for_model must be at least 100 characters")
        self.containers = containers
        self.max_logs_for_model = max_logs_for_model

    @property
    def kind(self) -> BuiltinToolKind:
        return BuiltinToolKind.CODE_INTERPRETER

    def function(self, spec: BuiltinTool) -> ToolSpec:
        return ToolSpec(FUNCTION_NAME, DESCRIPTION, PARAMETERS)

    async def run(
        self, spec: BuiltinTool, arguments: dict[str, Any], context: ToolContext
    ) -> ToolOutcome:
        code = arguments.get("code")
        if not isinstance(code, str) or not code.strip():
            reason = "The code_interpreter call needs `code`: a non-empty string of Python."
            shown = code if isinstance(code, str) else ""
            return ToolOutcome(reason, _output(shown, None, reason), status="failed")
        named = spec.container_id if isinstance(spec, CodeInterpreter) else None
        if named is not None and not self._usable(named, context.workspace):
            reason = not_found_reason(named)
            return ToolOutcome(reason, _output(code, named, reason), status="failed")
        container_id = named
        notice = ""
        try:
            if container_id is None:
                container_id, notice = await self._conversation_container(context)
            try:
                result = await self.containers.run(container_id, code)
            except SandboxFailed as failure:
                if failure.kind != "not_found" or named is not None:
                    raise
                # Expired between the lookup and the run: a new container, once (the
                # model is told when it was the conversation's, holding its state).
                if container_id == latest_container(context.earlier):
                    notice = _state_lost(container_id)
                container_id = await self.containers.create(context.workspace)
                result = await self.containers.run(container_id, code)
        except SandboxFailed as failure:
            if failure.kind == "not_found" and named is not None:
                reason = not_found_reason(named)
                return ToolOutcome(reason, _output(code, named, reason), status="failed")
            return self._failed(code, container_id, failure, notice)
        return self._completed(code, result, notice)

    def _usable(self, container_id: str, workspace: str) -> bool:
        """Whether the caller's workspace may run in the container: it is live and
        made for that workspace."""
        return self.containers.owner_of(container_id) == workspace

    async def _conversation_container(self, context: ToolContext) -> tuple[str, str]:
        """The container of the conversation's latest code run, or a new one; with the
        notice the logs open with when the conversation had one that is gone."""
        latest = latest_container(context.earlier)
        if latest is not None and self._usable(latest, context.workspace):
            return latest, ""
        fresh = await self.containers.create(context.workspace)
        return fresh, _state_lost(latest) if latest is not None else ""

    def _completed(self, code: str, result: RunResult, notice: str) -> ToolOutcome:
        images = [image.data_url for image in result.images]
        full_logs = notice + result.logs
        logs = self._for_model(full_logs)
        if not logs and not images:
            logs = "(the code ran and printed nothing)"
        if images:
            shown = "1 image was" if len(images) == 1 else f"{len(images)} images were"
            logs += f"\n[{shown} produced and shown to the user]"
        return ToolOutcome(logs.rstrip(), _output(code, result.container_id, full_logs, images))

    def _failed(
        self, code: str, container_id: str | None, failure: SandboxFailed, notice: str
    ) -> ToolOutcome:
        logs = notice + failure.logs
        note = f"[sandbox] {failure.reason}"
        full_logs = f"{logs}\n{note}" if logs else note
        for_model = f"The code did not finish: {failure.reason}."
        if logs:
            for_model += f"\nWhat it printed first:\n{self._for_model(logs)}"
        return ToolOutcome(for_model, _output(code, container_id, full_logs), status="failed")

    def _for_model(self, logs: str) -> str:
        cap = self.max_logs_for_model
        if len(logs) <= cap:
            return logs
        head = cap * 3 // 4
        tail = cap - head
        cut = len(logs) - head - tail
        return f"{logs[:head]}\n[... {cut} characters cut ...]\n{logs[-tail:]}"

    def recall(self, result: BuiltinResultPart) -> str:
        """An earlier cell as the model reads it again: its logs (cut as a fresh run's
        are), and how many images it showed; never the images' bytes."""
        try:
            data = json.loads(result.output)
        except ValueError:
            data = None
        outputs = data.get("outputs") if isinstance(data, dict) else None
        if not isinstance(outputs, list):
            error = data.get("error") if isinstance(data, dict) else None
            return f"The code did not run: {error}" if error else "The code left no output."
        logs = "".join(
            o.get("logs", "") for o in outputs if isinstance(o, dict) and o.get("type") == "logs"
        )
        images = sum(1 for o in outputs if isinstance(o, dict) and o.get("type") == "image")
        text = self._for_model(logs) or "(the code ran and printed nothing)"
        if images:
            text += f"\n[{images} image(s) were produced and shown to the user]"
        return text

    async def expire_idle(self) -> list[str]:
        """Remove the containers idle past the policy's `idle_seconds`; the ids removed.
        For the server's periodic chores."""
        return await self.containers.expire_idle()

    async def aclose(self) -> None:
        """Remove every container (their processes and files)."""
        await self.containers.aclose()


def latest_container(earlier: Iterable[BuiltinResultPart]) -> str | None:
    """The container of the latest code run among `earlier` (oldest first) that names
    one: the `container_id` its output holds."""
    found: str | None = None
    for result in earlier:
        if result.tool is not BuiltinToolKind.CODE_INTERPRETER:
            continue
        try:
            data = json.loads(result.output)
        except ValueError:
            continue
        container_id = data.get("container_id") if isinstance(data, dict) else None
        if isinstance(container_id, str) and container_id:
            found = container_id
    return found


def _state_lost(container_id: str) -> str:
    return (
        f"[sandbox] {not_found_reason(container_id)} This code ran in a new, empty "
        "container: variables and files of the earlier calls are gone.\n"
    )


def _output(code: str, container_id: str | None, logs: str, images: list[str] | None = None) -> str:
    outputs: list[dict[str, str]] = [{"type": "logs", "logs": logs}]
    outputs += [{"type": "image", "url": url} for url in images or ()]
    body: dict[str, Any] = {"code": code, "outputs": outputs}
    if container_id is not None:
        body["container_id"] = container_id
    return json.dumps(body, ensure_ascii=False)

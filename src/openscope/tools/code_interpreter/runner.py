"""`CodeInterpreterRunner`: the sandbox as the tool loop runs it (`core.tool_runner`).

One container per workspace (`ToolContext.workspace`): the calls of every request of a
workspace share its Python state and its /mnt/data files, for as long as the container
lives, i.e. until it has been idle for the policy's `idle_seconds` (20 min by default) or
the server stops; the next call then starts an empty one. Model Studio keeps a container
per conversation; the seam gives a runner only the request and its workspace, so the
workspace is the narrowest scope that lets a conversation's later turns (other requests)
find their files, and the widest that never crosses a tenant. Calls of one workspace run
one at a time (the container's lock).

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

import asyncio
import json
from typing import Any

from openscope.core.builtin_tools import BuiltinTool, BuiltinToolKind
from openscope.core.messages import BuiltinResultPart
from openscope.core.request import ToolSpec
from openscope.core.tool_runner import ToolContext, ToolOutcome
from openscope.tools.code_interpreter.containers import Containers
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
    """Runs `code_interpreter` calls in `containers`, one container per workspace."""

    def __init__(
        self, containers: Containers, *, max_logs_for_model: int = DEFAULT_MAX_LOGS_FOR_MODEL
    ) -> None:
        if max_logs_for_model < 100:
            raise ValueError("max_logs_for_model must be at least 100 characters")
        self.containers = containers
        self.max_logs_for_model = max_logs_for_model
        self._by_workspace: dict[str, str] = {}
        self._creating = asyncio.Lock()  # two first calls of a workspace make one container

    @property
    def kind(self) -> BuiltinToolKind:
        return BuiltinToolKind.CODE_INTERPRETER

    def function(self, spec: BuiltinTool) -> ToolSpec:
        return ToolSpec(FUNCTION_NAME, DESCRIPTION, PARAMETERS)

    def container_of(self, workspace: str) -> str | None:
        """The live container a workspace's calls run in, if it has one."""
        container_id = self._by_workspace.get(workspace)
        return container_id if container_id in self.containers else None

    async def run(
        self, spec: BuiltinTool, arguments: dict[str, Any], context: ToolContext
    ) -> ToolOutcome:
        code = arguments.get("code")
        if not isinstance(code, str) or not code.strip():
            reason = "The code_interpreter call needs `code`: a non-empty string of Python."
            shown = code if isinstance(code, str) else ""
            return ToolOutcome(reason, _output(shown, None, reason), status="failed")
        container_id: str | None = None
        try:
            container_id = await self._container(context.workspace)
            try:
                result = await self.containers.run(container_id, code)
            except SandboxFailed as failure:
                if failure.kind != "not_found":
                    raise
                # Expired between the lookup and the run: one fresh container, once.
                container_id = await self._container(context.workspace)
                result = await self.containers.run(container_id, code)
        except SandboxFailed as failure:
            return self._failed(code, container_id, failure)
        return self._completed(code, result)

    async def _container(self, workspace: str) -> str:
        async with self._creating:
            container_id = self.container_of(workspace)
            if container_id is None:
                container_id = await self.containers.create()
                self._by_workspace[workspace] = container_id
            return container_id

    def _completed(self, code: str, result: RunResult) -> ToolOutcome:
        images = [image.data_url for image in result.images]
        logs = self._for_model(result.logs)
        if not logs and not images:
            logs = "(the code ran and printed nothing)"
        if images:
            shown = "1 image was" if len(images) == 1 else f"{len(images)} images were"
            logs += f"\n[{shown} produced and shown to the user]"
        return ToolOutcome(logs.rstrip(), _output(code, result.container_id, result.logs, images))

    def _failed(self, code: str, container_id: str | None, failure: SandboxFailed) -> ToolOutcome:
        logs = failure.logs
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
        """Remove the containers idle past the policy's `idle_seconds` and forget the
        workspaces they served; the ids removed. For the server's periodic chores."""
        expired = await self.containers.expire_idle()
        for workspace, container_id in list(self._by_workspace.items()):
            if container_id not in self.containers:
                del self._by_workspace[workspace]
        return expired

    async def aclose(self) -> None:
        """Remove every container (their processes and files)."""
        self._by_workspace.clear()
        await self.containers.aclose()


def _output(code: str, container_id: str | None, logs: str, images: list[str] | None = None) -> str:
    outputs: list[dict[str, str]] = [{"type": "logs", "logs": logs}]
    outputs += [{"type": "image", "url": url} for url in images or ()]
    body: dict[str, Any] = {"code": code, "outputs": outputs}
    if container_id is not None:
        body["container_id"] = container_id
    return json.dumps(body, ensure_ascii=False)

"""`WebExtractorRunner`: the web extractor as the tool loop runs it (`core.tool_runner`).

The model names a `goal` and the `urls` to read (at most the extractor's `max_urls`; more
are reported as not fetched). The outcome's `for_model` is Model Studio's template text
(one section per URL, a failed URL's section saying why), and `output` is the JSON of the
Responses `web_extractor_call` item's own fields (builtin-tools.md §3.3)::

    {"goal": "...", "urls": ["https://..."], "output": "The useful information in ..."}

The call fails (status "failed") when no URL could be read; its output still says why for
each URL.
"""

from __future__ import annotations

import json
from typing import Any

from openscope.core.builtin_tools import BuiltinTool, BuiltinToolKind
from openscope.core.messages import BuiltinResultPart
from openscope.core.request import ToolSpec
from openscope.core.tool_runner import ToolContext, ToolOutcome
from openscope.tools.web_extractor.extractor import WebExtractor

FUNCTION_NAME = "web_extractor"
DESCRIPTION = (
    "Read web pages (for example the URLs a web search found) and take from them what "
    "serves a goal. Returns, per page, the evidence found in it and a summary."
)


class WebExtractorRunner:
    """Runs `web_extractor` calls through one `WebExtractor` (its SSRF-safe fetcher and
    output limits)."""

    def __init__(self, extractor: WebExtractor) -> None:
        self.extractor = extractor

    @property
    def kind(self) -> BuiltinToolKind:
        return BuiltinToolKind.WEB_EXTRACTOR

    def function(self, spec: BuiltinTool) -> ToolSpec:
        max_urls = self.extractor.limits.max_urls
        parameters: dict[str, Any] = {
            "type": "object",
            "properties": {
                "goal": {
                    "type": "string",
                    "description": "What to find out from the pages, in one sentence.",
                },
                "urls": {
                    "type": "array",
                    "items": {"type": "string"},
                    "minItems": 1,
                    "maxItems": max_urls,
                    "description": f"The http(s) URLs of the pages to read (at most {max_urls}).",
                },
            },
            "required": ["goal", "urls"],
        }
        return ToolSpec(FUNCTION_NAME, DESCRIPTION, parameters)

    async def run(
        self, spec: BuiltinTool, arguments: dict[str, Any], context: ToolContext
    ) -> ToolOutcome:
        goal = arguments.get("goal")
        urls = arguments.get("urls")
        shown_goal = goal if isinstance(goal, str) else ""
        if isinstance(urls, str):
            urls = [urls]  # a model that wrote one URL as a string means that URL
        shown_urls = [u for u in urls if isinstance(u, str)] if isinstance(urls, list) else []
        problem = _problem(goal, urls)
        if problem is not None:
            return ToolOutcome(
                for_model=f"The web_extractor call was not run: {problem}.",
                output=_output(shown_goal, shown_urls, f"Not run: {problem}."),
                status="failed",
            )
        result = await self.extractor.run(shown_goal, shown_urls)
        return ToolOutcome(
            for_model=result.output,
            output=_output(shown_goal, shown_urls, result.output),
            status="completed" if result.ok else "failed",
        )

    def recall(self, result: BuiltinResultPart) -> str:
        """An earlier extraction as the model reads it again: its output, kept whole."""
        try:
            data = json.loads(result.output)
        except ValueError:
            data = None
        text = data.get("output") or data.get("error") if isinstance(data, dict) else None
        return text if isinstance(text, str) else "The web_extractor call left no output."


def _problem(goal: object, urls: object) -> str | None:
    """What is wrong with the model's arguments, or None."""
    if not isinstance(goal, str) or not goal.strip():
        return "it needs a `goal`: a non-empty string"
    if not isinstance(urls, list) or not urls:
        return "it needs `urls`: a non-empty list of URL strings"
    if not all(isinstance(url, str) and url.strip() for url in urls):
        return "every entry of `urls` must be a non-empty URL string"
    return None


def _output(goal: str, urls: list[str], output: str) -> str:
    return json.dumps({"goal": goal, "urls": urls, "output": output}, ensure_ascii=False)

"""The `web_extractor` built-in tool: read web pages for a goal, Model Studio style.

The API the tool loop calls::

    extractor = WebExtractor(Fetcher(FetchPolicy(...)), OutputLimits(...))   # once
    result: ExtractorResult = await extractor.run(goal, urls)               # per call
    result.output   # the `web_extractor_call.output` string
    result.ok       # item status: "completed" if any URL was read, else "failed"
    result.pages    # per URL: title, error reason, whether the page was cut at the size cap

Each URL is fetched through the SSRF-safe `openscope.tools.fetch.Fetcher`, its main text taken
as markdown by trafilatura (`page_text`), and one section per URL is filled in Model Studio's
template: "The useful information in <url> for user goal <goal> as follows: \\n\\nEvidence in
page: \\n<evidence>\\n\\nSummary: \\n<summary>". No model writes the evidence and summary here:
they are passages chosen from the page (see `passages`), never invented text. The output is
bounded by `OutputLimits` (12,000 characters by default). `run` never raises for a bad URL or
page: the reason becomes that URL's summary and its report's `error`.

`WebExtractorRunner(extractor)` is the tool loop's `BuiltinToolRunner` (`core.tool_runner`):
function `web_extractor(goal, urls)`, output the `web_extractor_call` item's fields.
"""

from openscope.tools.web_extractor.extractor import ExtractorResult, PageReport, WebExtractor
from openscope.tools.web_extractor.page_text import PageText, page_text
from openscope.tools.web_extractor.passages import evidence, summary
from openscope.tools.web_extractor.runner import WebExtractorRunner
from openscope.tools.web_extractor.template import OutputLimits, page_section

__all__ = [
    "ExtractorResult",
    "OutputLimits",
    "PageReport",
    "PageText",
    "WebExtractor",
    "WebExtractorRunner",
    "evidence",
    "page_section",
    "page_text",
    "summary",
]

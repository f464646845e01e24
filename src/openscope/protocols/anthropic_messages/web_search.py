"""Anthropic's server tool `web_search_20250305` on this API, both ways.

In: the tool (checked as Anthropic checks it) becomes the core's `WebSearch`; an earlier
answer's `server_tool_use` and `web_search_tool_result` blocks, handed back by the client,
become the built-in call and result parts they were.

Out: the web search call and result parts the tool loop records become those two blocks:
`server_tool_use` (`id`, `name` "web_search", `input` {"query": ...}) and
`web_search_tool_result` (`tool_use_id`, `content`: a list of `web_search_result`, or a
`web_search_tool_result_error` with its `error_code`), and `usage.server_tool_use` counts
the searches that ran.

`encrypted_content` is opaque to clients (Anthropic's holds the page for its own model).
Ours is the base64 of the UTF-8 text the model read for that result (its title, source,
date and snippet, as the web search runner rendered it): what a client hands back is what
it was given, and decoding it gives the text again."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from openscope.core.builtin_tools import (
    MAX_ASSIGNED_SITES,
    BuiltinToolKind,
    SearchFailure,
    UserLocation,
    WebSearch,
)
from openscope.core.errors import InvalidParameter
from openscope.core.messages import BuiltinCallPart, BuiltinResultPart, Part
from openscope.protocols.anthropic_messages.schemas import (
    ServerToolUseBlock,
    ToolWire,
    WebSearchToolResultBlock,
    WebSearchToolResultError,
)

TOOL_TYPE = "web_search_20250305"
TOOL_NAME = "web_search"
# Anthropic's ids of server tool calls; ours get the prefix when shown.
ID_PREFIX = "srvtoolu_"
USER_LOCATION_FIELDS = ("city", "region", "country", "timezone")
# What each failure is called on this wire (the SDK's `WebSearchToolResultErrorCode`); a
# failure that names none (the tool loop's own: a timeout, a run that raised) is
# "unavailable".
ERROR_CODES: dict[SearchFailure, str] = {
    SearchFailure.INVALID_INPUT: "invalid_tool_input",
    SearchFailure.UNAVAILABLE: "unavailable",
    SearchFailure.TOO_MANY_REQUESTS: "too_many_requests",
    SearchFailure.MAX_USES_EXCEEDED: "max_uses_exceeded",
    SearchFailure.QUERY_TOO_LONG: "query_too_long",
}
FAILURES = {code: failure for failure, code in ERROR_CODES.items()}


# -- in ------------------------------------------------------------------------------------


def _refused(position: int, where: str, problem: str) -> InvalidParameter:
    at = f"tools.{position}.{TOOL_TYPE}" + (f".{where}" if where else "")
    return InvalidParameter(f"{at}: {problem}", param="tools")


def tool(wire: ToolWire, position: int, *, forced: bool) -> WebSearch:
    """The tool at `tools[position]`; `forced`: the tool choice names it, so the model's
    first turn must search (chat's `forced_search`, which the tool loop honours)."""
    if wire.name != TOOL_NAME:
        raise _refused(position, "name", f"Input should be '{TOOL_NAME}'")
    max_uses = wire.max_uses
    if max_uses is not None and (not isinstance(max_uses, int) or isinstance(max_uses, bool)):
        raise _refused(position, "max_uses", "Input should be a valid integer")
    if max_uses is not None and max_uses < 1:
        raise _refused(position, "max_uses", "Input should be greater than or equal to 1")
    allowed = _domains(wire.allowed_domains, position, "allowed_domains")
    blocked = _domains(wire.blocked_domains, position, "blocked_domains")
    if wire.allowed_domains is not None and wire.blocked_domains is not None:
        raise _refused(position, "", "allowed_domains and blocked_domains cannot be used together")
    if len(allowed) > MAX_ASSIGNED_SITES:
        raise _refused(
            position, "allowed_domains", f"at most {MAX_ASSIGNED_SITES} domains are supported"
        )
    options: dict[str, Any] = {}
    if allowed:
        # The search's own site filter (chat's assigned_site_list): only these sites, and
        # their subdomains.
        options["assigned_site_list"] = list(allowed)
    if forced:
        options["forced_search"] = True
    return WebSearch(
        options=options,
        max_uses=max_uses,
        blocked_sites=blocked,
        user_location=_user_location(wire.user_location, position),
    )


def _domains(value: Any, position: int, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(d, str) for d in value):
        raise _refused(position, where, "Input should be a valid list of strings")
    domains: list[str] = []
    for index, domain in enumerate(value):
        text = domain.strip().lower()
        parts = urlsplit(text if "//" in text else f"//{text}")
        if not parts.hostname:
            raise _refused(position, f"{where}.{index}", f"'{domain}' is not a domain")
        if parts.path.strip("/"):
            # Anthropic matches subpaths (example.com/blog); the search here filters by
            # site only, so a path would be honoured as the whole site: refused instead.
            raise _refused(
                position,
                f"{where}.{index}",
                f"'{domain}': domains with a path are not supported; give the domain alone",
            )
        domains.append(parts.hostname)
    return tuple(domains)


def _user_location(value: Any, position: int) -> UserLocation | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _refused(position, "user_location", "Input should be a valid dictionary")
    if value.get("type") != "approximate":
        raise _refused(position, "user_location.type", "Input should be 'approximate'")
    fields: dict[str, str | None] = {}
    for name in USER_LOCATION_FIELDS:
        field = value.get(name)
        if field is not None and not isinstance(field, str):
            raise _refused(position, f"user_location.{name}", "Input should be a valid string")
        fields[name] = field or None
    country = fields["country"]
    if country is not None and len(country) != 2:
        raise _refused(position, "user_location.country", "String should have exactly 2 characters")
    unknown = sorted(set(value) - {"type", *USER_LOCATION_FIELDS})
    if unknown:
        raise _refused(position, f"user_location.{unknown[0]}", "Extra inputs are not permitted")
    return UserLocation(**fields)


def call_part(block: ServerToolUseBlock) -> BuiltinCallPart:
    """An earlier answer's `server_tool_use` block, handed back."""
    if block.name != TOOL_NAME:
        raise InvalidParameter(
            f"messages: the server tool '{block.name}' is not supported; only '{TOOL_NAME}' is",
            param="messages",
        )
    return BuiltinCallPart(block.id, BuiltinToolKind.WEB_SEARCH, json.dumps(block.input))


def result_part(block: WebSearchToolResultBlock, calls: dict[str, BuiltinCallPart]) -> Part:
    """An earlier answer's `web_search_tool_result` block, handed back: the output the web
    search runner would have written for it (`calls` gives the query of its call)."""
    call = calls.get(block.tool_use_id)
    if call is None:
        raise InvalidParameter(
            f"messages: the web_search_tool_result for '{block.tool_use_id}' follows no "
            "server_tool_use block with that id",
            param="messages",
        )
    query = json.loads(call.arguments).get("query")
    action: dict[str, Any] = {"type": "search"} | ({"query": query} if query else {})
    if isinstance(block.content, WebSearchToolResultError):
        failure = FAILURES.get(block.content.error_code, SearchFailure.UNAVAILABLE)
        failed: dict[str, Any] = {"action": action | {"sources": []}}
        failed |= {"search_results": [], "results_read": [], "error_code": str(failure)}
        return BuiltinResultPart(
            block.tool_use_id, BuiltinToolKind.WEB_SEARCH, json.dumps(failed), status="failed"
        )
    results = block.content
    output: dict[str, Any] = {
        "action": action | {"sources": [{"type": "url", "url": r.url} for r in results]},
        "search_results": [
            {
                "index": index,
                "title": r.title,
                "url": r.url,
                "site_name": (urlsplit(r.url).hostname or "").removeprefix("www."),
                "icon": "",
            }
            for index, r in enumerate(results, start=1)
        ],
        "results_read": [
            {
                "url": r.url,
                "title": r.title,
                "published": None,
                "content": _read(r.encrypted_content),
            }
            for r in results
        ],
    }
    return BuiltinResultPart(
        block.tool_use_id, BuiltinToolKind.WEB_SEARCH, json.dumps(output, ensure_ascii=False)
    )


def _read(encrypted_content: str) -> str:
    """The text ours holds; "" for one we did not write (Anthropic's own is not ours)."""
    try:
        return base64.b64decode(encrypted_content, validate=True).decode()
    except (binascii.Error, ValueError):
        return ""


# -- out -----------------------------------------------------------------------------------


def shown_id(part_id: str) -> str:
    """A call's id as this wire shows it (Anthropic's `srvtoolu_` prefix)."""
    return part_id if part_id.startswith(ID_PREFIX) else ID_PREFIX + part_id


def call_block(call_id: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "server_tool_use",
        "id": shown_id(call_id),
        "name": TOOL_NAME,
        "input": arguments,
    }


def result_block(call_id: str, output: str, status: str) -> dict[str, Any]:
    return {
        "type": "web_search_tool_result",
        "tool_use_id": shown_id(call_id),
        "content": _content(output, status),
    }


def _content(output: str, status: str) -> list[dict[str, Any]] | dict[str, Any]:
    try:
        parsed = json.loads(output)
    except ValueError:
        parsed = None
    written = parsed if isinstance(parsed, dict) else {}
    if status == "failed" or "error_code" in written:
        code = written.get("error_code")
        failure = SearchFailure(code) if code in set(SearchFailure) else SearchFailure.UNAVAILABLE
        return {"type": "web_search_tool_result_error", "error_code": ERROR_CODES[failure]}
    read = written.get("results_read")
    results = [r for r in read if isinstance(r, dict)] if isinstance(read, list) else []
    return [
        {
            "type": "web_search_result",
            "url": str(r.get("url", "")),
            "title": str(r.get("title", "")),
            "encrypted_content": base64.b64encode(str(r.get("content", "")).encode()).decode(),
            "page_age": _page_age(r.get("published")),
        }
        for r in results
    ]


def _page_age(published: Any) -> str | None:
    """The date as Anthropic writes it ("April 30, 2025"); None when the source gave none."""
    if not isinstance(published, str):
        return None
    try:
        day = date.fromisoformat(published)
    except ValueError:
        return None
    return f"{day:%B} {day.day}, {day.year}"


def searches(statuses: list[str]) -> dict[str, int]:
    """`usage.server_tool_use` for the web search results of an answer: the searches that
    ran (a call refused for `max_uses`, or failing, is no search)."""
    return {
        "web_search_requests": sum(1 for status in statuses if status == "completed"),
        "web_fetch_requests": 0,
    }

"""Built-in tool items a client sends back in `input` (the stateless way to go on:
`input=[*response.output, next_message]`), decoded into the call and result parts the
tool loop reads: the model sees the earlier run again, and a code run's container is
found again (its owner is checked there, never here).

The item's own fields are the ones the encoder writes (`encode.builtin_call_body`):
`web_search_call.action`, `web_extractor_call.{goal,urls,output}`,
`code_interpreter_call.{code,outputs,container_id}`, `web_search_image_call` and
`image_search_call.{name,arguments,output}`. Model Studio accepts `web_search_call` items
back (with `action.query` or `action.queries`, and `sources`), builtin-tools.md §3.0; the
others are taken alike. An item still in progress carries only its call."""

from __future__ import annotations

import json
from typing import Any

from openscope.core.builtin_tools import BuiltinToolKind
from openscope.core.errors import InvalidParameter
from openscope.core.messages import BuiltinCallPart, BuiltinResultPart, Message, Role

# The item types this decodes, by the tool they belong to.
BUILTIN_ITEM_TYPES = {
    f"{kind}_call": kind
    for kind in (
        BuiltinToolKind.WEB_SEARCH,
        BuiltinToolKind.WEB_EXTRACTOR,
        BuiltinToolKind.CODE_INTERPRETER,
        BuiltinToolKind.WEB_SEARCH_IMAGE,
        BuiltinToolKind.IMAGE_SEARCH,
    )
}
_DONE = {"completed": "completed", "failed": "failed", "incomplete": "failed"}


def builtin_item_message(
    item_type: str, fields: dict[str, Any], call_id: str, position: int
) -> Message:
    """The assistant message of a built-in `<tool>_call` item: its call and, once done,
    its result. `fields`: the item's JSON; a field of the wrong type is a 400 naming it."""
    kind = BUILTIN_ITEM_TYPES[item_type]
    where = f"input[{position}]"
    arguments, output = _parts(kind, fields, where)
    call = BuiltinCallPart(call_id, kind, json.dumps(arguments, ensure_ascii=False))
    status = fields.get("status", "completed")
    if not isinstance(status, str):
        raise _invalid(f"{where}.status", "a string")
    done = _DONE.get(status)
    if done is None:
        return Message(Role.ASSISTANT, (call,))
    result = BuiltinResultPart(call_id, kind, json.dumps(output, ensure_ascii=False), done)
    return Message(Role.ASSISTANT, (call, result))


def _parts(
    kind: BuiltinToolKind, fields: dict[str, Any], where: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The call's arguments and the result's output JSON, from the item's fields."""
    match kind:
        case BuiltinToolKind.WEB_SEARCH:
            action = _typed(fields, "action", dict, where) or {}
            query = action.get("query")
            queries = action.get("queries")
            if query is None and isinstance(queries, list) and queries:
                query = queries[0]
            if query is not None and not isinstance(query, str):
                raise _invalid(f"{where}.action.query", "a string")
            sources = action.get("sources", [])
            if not isinstance(sources, list) or not all(
                isinstance(s, dict) and isinstance(s.get("url"), str) for s in sources
            ):
                raise _invalid(f"{where}.action.sources", "a list of {type, url} objects")
            searched = {"type": "search", "sources": sources} | (
                {"query": query} if query is not None else {}
            )
            return ({"query": query or ""}, {"action": searched})
        case BuiltinToolKind.WEB_EXTRACTOR:
            goal = _typed(fields, "goal", str, where) or ""
            urls = _typed(fields, "urls", list, where) or []
            if not all(isinstance(url, str) for url in urls):
                raise _invalid(f"{where}.urls", "a list of strings")
            output = _typed(fields, "output", str, where) or ""
            return ({"goal": goal, "urls": urls}, {"goal": goal, "urls": urls, "output": output})
        case BuiltinToolKind.CODE_INTERPRETER:
            code = _typed(fields, "code", str, where) or ""
            outputs = _typed(fields, "outputs", list, where) or []
            if not all(isinstance(o, dict) and isinstance(o.get("type"), str) for o in outputs):
                raise _invalid(f"{where}.outputs", "a list of logs and image outputs")
            shown: dict[str, Any] = {"code": code, "outputs": outputs}
            container = _typed(fields, "container_id", str, where)
            if container is not None:
                shown["container_id"] = container
            return ({"code": code}, shown)
        case BuiltinToolKind.WEB_SEARCH_IMAGE | BuiltinToolKind.IMAGE_SEARCH:
            arguments = _typed(fields, "arguments", str, where) or "{}"
            try:
                parsed = json.loads(arguments)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                raise _invalid(f"{where}.arguments", "a JSON object as a string")
            output = _typed(fields, "output", str, where) or ""
            return (parsed, {"name": str(kind), "arguments": arguments, "output": output})
        case _:
            raise AssertionError(f"no item type for {kind}")


def _typed(fields: dict[str, Any], name: str, kind: type, where: str) -> Any:
    value = fields.get(name)
    if value is not None and not isinstance(value, kind):
        raise _invalid(f"{where}.{name}", _NAMES[kind])
    return value


_NAMES: dict[type, str] = {dict: "an object", list: "a list", str: "a string"}


def _invalid(where: str, expected: str) -> InvalidParameter:
    return InvalidParameter(f"Invalid '{where}': expected {expected}.", param="input")

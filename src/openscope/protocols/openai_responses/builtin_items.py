"""Built-in tool items, both ways: a call and its result as one `<tool>_call` item
(`builtin_call_body`), and such items a client sends back in `input` (the stateless way
to go on: `input=[*response.output, next_message]`), decoded into the call and result
parts the tool loop reads: the model sees the earlier run again, and a code run's
container is found again (its owner is checked there, never here).

The item's own fields are the ones `builtin_call_body` writes:
`web_search_call.action`, `web_extractor_call.{goal,urls,output}`,
`code_interpreter_call.{code,outputs,container_id}`, `web_search_image_call` and
`image_search_call.{name,arguments,output}`, `file_search_call.{queries,results}` (and
`error` when it failed). Model Studio accepts `web_search_call` items
back (with `action.query` or `action.queries`, and `sources`), builtin-tools.md §3.0; the
others are taken alike. An item still in progress carries only its call."""

from __future__ import annotations

import json
from typing import Any

from openscope.core.builtin_tools import BuiltinToolKind
from openscope.core.errors import InvalidParameter
from openscope.core.messages import BuiltinCallPart, BuiltinResultPart, Message, Role
from openscope.protocols.openai_responses.streamed_string import StreamedString

# The item types this decodes, by the tool they belong to.
BUILTIN_ITEM_TYPES = {
    f"{kind}_call": kind
    for kind in (
        BuiltinToolKind.WEB_SEARCH,
        BuiltinToolKind.WEB_EXTRACTOR,
        BuiltinToolKind.CODE_INTERPRETER,
        BuiltinToolKind.WEB_SEARCH_IMAGE,
        BuiltinToolKind.IMAGE_SEARCH,
        BuiltinToolKind.FILE_SEARCH,
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
        case BuiltinToolKind.FILE_SEARCH:
            queries = _typed(fields, "queries", list, where) or []
            if not all(isinstance(q, str) for q in queries):
                raise _invalid(f"{where}.queries", "a list of strings")
            results = _typed(fields, "results", list, where) or []
            for n, result in enumerate(results):
                _file_search_result(result, f"{where}.results[{n}]")
            found: dict[str, Any] = {"queries": queries, "results": results}
            error = _typed(fields, "error", str, where)
            if error is not None:
                found["error"] = error
            return ({"queries": queries}, found)
        case _:
            raise AssertionError(f"no item type for {kind}")


def _file_search_result(result: object, where: str) -> None:
    """A `file_search_call` result as Model Studio shows them: `file_id`, `filename`,
    `score` (0-1) and `text`; OpenAI's `attributes` too."""
    if not isinstance(result, dict):
        raise _invalid(where, "an object with file_id, filename, score and text")
    for name in ("file_id", "filename", "text"):
        if not isinstance(result.get(name), str):
            raise _invalid(f"{where}.{name}", "a string")
    score = result.get("score")
    if not isinstance(score, int | float) or isinstance(score, bool):
        raise _invalid(f"{where}.score", "a number")
    attributes = result.get("attributes")
    if attributes is not None and not isinstance(attributes, dict):
        raise _invalid(f"{where}.attributes", "an object")


def _typed(fields: dict[str, Any], name: str, kind: type, where: str) -> Any:
    value = fields.get(name)
    if value is not None and not isinstance(value, kind):
        raise _invalid(f"{where}.{name}", _NAMES[kind])
    return value


_NAMES: dict[type, str] = {dict: "an object", list: "a list", str: "a string"}


def _invalid(where: str, expected: str) -> InvalidParameter:
    return InvalidParameter(f"Invalid '{where}': expected {expected}.", param="input")


# -- out ------------------------------------------------------------------------------------


_RESULT_FIELDS: dict[BuiltinToolKind, tuple[str, ...]] = {
    BuiltinToolKind.WEB_SEARCH: ("action",),
    BuiltinToolKind.WEB_EXTRACTOR: ("goal", "urls", "output"),
    BuiltinToolKind.CODE_INTERPRETER: ("code", "outputs", "container_id"),
    BuiltinToolKind.WEB_SEARCH_IMAGE: ("name", "arguments", "output"),
    BuiltinToolKind.IMAGE_SEARCH: ("name", "arguments", "output"),
    BuiltinToolKind.FILE_SEARCH: ("queries", "results", "error"),
}


def builtin_call_body(
    item_id: str, call: BuiltinCallPart, result: BuiltinResultPart | None
) -> dict[str, Any]:
    """A built-in tool's `<tool>_call` item: in progress until its result is in.

    A tool with a runner (web_search, web_extractor, code_interpreter, web_search_image,
    image_search, file_search) shows its own fields (builtin-tools.md §3.2-3.6): while in
    progress those its call's arguments give (`action.query`; `goal` and `urls`; `code`;
    `name` and `arguments`; `queries`), once done those of its result's output JSON, as
    the runner wrote them.
    Any other tool, or an output that is not a JSON object holding any of its tool's
    fields, shows the call's `arguments` and the raw `output`."""
    status = result.status if result is not None else "in_progress"
    head: dict[str, Any] = {"id": item_id, "type": f"{call.tool}_call", "status": status}
    own = _own_fields(call, result)
    if own is not None:
        return head | own
    head["arguments"] = call.arguments
    if result is not None:
        head["output"] = result.output
    return head


def _own_fields(call: BuiltinCallPart, result: BuiltinResultPart | None) -> dict[str, Any] | None:
    """The item's own fields, or None for the generic shape."""
    fields = _RESULT_FIELDS.get(call.tool)
    if fields is None:
        return None
    if result is None:
        return call_fields(call)
    output = _json_object(result.output)
    if output is None:
        return None  # not written by the tool loop: shown as it is
    own = {name: output[name] for name in fields if name in output}
    if set(own) - {"error"}:  # (file_search's `error` comes beside its own fields)
        return own
    error = output.get("error")
    if set(output) != {"error"} or not isinstance(error, str):
        return None  # not written by the tool loop: shown as it is
    # The loop's own failure (a timeout, a run that raised, bad arguments) writes only an
    # error: the item keeps its tool's shape, from the call, with the error where the
    # tool's output would be (a client reading `outputs[0].logs` finds the reason).
    shown = call_fields(call)
    match call.tool:
        case BuiltinToolKind.WEB_SEARCH:
            shown["action"] = {**shown["action"], "sources": []}
        case BuiltinToolKind.WEB_EXTRACTOR:
            shown["output"] = error
        case BuiltinToolKind.CODE_INTERPRETER:
            shown["outputs"] = [{"type": "logs", "logs": error}]
        case BuiltinToolKind.WEB_SEARCH_IMAGE | BuiltinToolKind.IMAGE_SEARCH:
            shown["output"] = error
        case BuiltinToolKind.FILE_SEARCH:
            shown |= {"results": [], "error": error}
    return shown


def call_fields(call: BuiltinCallPart) -> dict[str, Any]:
    """The fields the call's arguments give: only what the model wrote with the right type
    (a call with bad arguments fails, its reason in the `done` item), so `added` and
    `done` have one shape."""
    arguments = _json_object(call.arguments) or {}
    query, goal = arguments.get("query"), arguments.get("goal")
    urls, code = arguments.get("urls"), arguments.get("code")
    match call.tool:
        case BuiltinToolKind.WEB_SEARCH:
            return {"action": {"type": "search"} | ({"query": query} if _is_str(query) else {})}
        case BuiltinToolKind.WEB_EXTRACTOR:
            shown: dict[str, Any] = {"goal": goal} if _is_str(goal) else {}
            if isinstance(urls, list) and all(_is_str(url) for url in urls):
                shown["urls"] = urls
            return shown
        case BuiltinToolKind.CODE_INTERPRETER:
            if _is_str(code):
                return {"code": code}
            if _is_json(call.arguments):
                return {}  # whole, but with no code string: the run fails on it
            # Arguments cut short (the answer's length ran out): the code as far as it was
            # written, which is what the `_code.delta` events streamed.
            return {"code": StreamedString("code").feed(call.arguments)}
        case BuiltinToolKind.WEB_SEARCH_IMAGE | BuiltinToolKind.IMAGE_SEARCH:
            return {"name": str(call.tool), "arguments": _image_arguments(call.arguments)}
        case BuiltinToolKind.FILE_SEARCH:
            # Model Studio's `added` item has the queries already; a call that names none
            # searches the user's question, which the `done` item shows.
            queries = arguments.get("queries")
            if _is_str(queries):
                queries = [queries]
            fine = isinstance(queries, list) and all(_is_str(q) for q in queries)
            return {"queries": queries if fine else []}
        case _:
            return {}


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _image_arguments(text: str) -> str:
    """An image tool's `arguments` as its runner writes them (the call's JSON object in
    Python's default separators, as Model Studio's samples show), so `added` and `done`
    agree; text that is no JSON object is shown as the model wrote it."""
    arguments = _json_object(text or "{}")
    return text if arguments is None else json.dumps(arguments, ensure_ascii=False)


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None

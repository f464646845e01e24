"""A tool call's arguments, between the JSON text the core keeps and what the wire holds.

The core keeps arguments as the text the model wrote (or the client sent), unparsed: models
write malformed JSON and clients echo it back, and neither should be lost or rejected on
the way through. Wires that want an object (Anthropic's `input`) or hand one in (Chat's
`arguments` may be an object, Anthropic's `input` always is) convert here, one way each.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def arguments_text(value: str | Mapping[str, Any] | None) -> str:
    """What a client sent as a call's arguments, as the core's text: JSON text is kept as
    sent, an object is written out as JSON, and missing or blank arguments are the empty
    object (Chat defaults `arguments` to "", Responses leaves it out)."""
    if isinstance(value, str):
        return value if value.strip() else "{}"
    if value is None:
        return "{}"
    return json.dumps(value, ensure_ascii=False)


def arguments_value(text: str) -> object:
    """The arguments as JSON: blank text is the empty object; text that is not JSON (or is
    nested past the interpreter's stack) comes back as the text itself, not an error."""
    if not text.strip():
        return {}
    try:
        value: object = json.loads(text)
    except (ValueError, RecursionError):
        return text
    return value


def arguments_object(text: str) -> dict[str, Any]:
    """The arguments as the JSON object a wire that wants one expects. Anything else the
    model wrote (malformed text, an array, a number) is kept under `arguments`."""
    value = arguments_value(text)
    if isinstance(value, dict):
        return value
    return {"arguments": text}

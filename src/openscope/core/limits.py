"""How deeply JSON may nest: in a request body (protocols/http), in a tool call's
arguments (core/rules/sizes) and in what a parser reads from a model (parsing/).

Python's json and the store's JSON column recurse, so a value nested a thousand levels deep
would crash them; no real schema or argument nests past a dozen. The bounds on a request's
size are core/rules/sizes.
"""

from __future__ import annotations

import json
from typing import Any

MAX_NESTING = 64  # levels of lists and objects; `[]` is one

_Container = dict[Any, Any] | list[Any]


def nesting_exceeds(value: object, limit: int) -> bool:
    """Whether `value` nests lists and dicts more than `limit` levels (`[]` is one level).

    Walks one level at a time instead of recursing: the values this guards against are
    exactly those a recursive walk would crash on."""
    level: list[_Container] = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        below: list[_Container] = []
        for container in level:
            children = container.values() if isinstance(container, dict) else container
            below.extend(c for c in children if isinstance(c, dict | list))
        level = below
    return False


def arguments_nest_too_deeply(arguments: str) -> bool:
    """Whether a tool call's arguments are JSON nested past `MAX_NESTING`. Arguments that
    are not JSON at all are left alone: models write malformed ones, clients echo them."""
    try:
        value = json.loads(arguments)
    except RecursionError:
        return True  # deeper than the interpreter's stack, so far deeper than the limit
    except ValueError:
        return False
    return nesting_exceeds(value, MAX_NESTING)

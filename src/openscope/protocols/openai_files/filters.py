"""OpenAI's attribute filters (`ComparisonFilter`, `CompoundFilter`) -> the core's
`Filter`, refusing what the core could not evaluate as OpenAI means it."""

from __future__ import annotations

from typing import Any, get_args

from openscope.core.errors import InvalidParameter
from openscope.core.knowledge import (
    MAX_FILTER_DEPTH,
    AttributeValue,
    Comparison,
    ComparisonOp,
    Compound,
    Filter,
    filter_problem,
)

# The wire's comparison types are the core's operators, by the same names.
COMPARISONS: dict[str, ComparisonOp] = {op: op for op in get_args(ComparisonOp)}
COMPOUNDS = frozenset({"and", "or"})
LIST_OPS = frozenset({"in", "nin"})


def parse_filter(value: Any, where: str = "filters") -> Filter:
    """`value` (a decoded JSON object) as a filter; `where` names it in refusals. One
    deeper than MAX_FILTER_DEPTH, or larger than `filter_problem` allows, is refused."""
    parsed = _parse(value, where, 1)
    problem = filter_problem(parsed)
    if problem is not None:
        raise _invalid(where, problem)
    return parsed


def _parse(value: Any, where: str, depth: int) -> Filter:
    if depth > MAX_FILTER_DEPTH:
        raise _invalid(where, f"filters nest at most {MAX_FILTER_DEPTH} deep")
    if not isinstance(value, dict):
        raise _invalid(where, "expected an object")
    kind = value.get("type")
    if not isinstance(kind, str):  # a list or an object would not even hash
        raise _invalid(f"{where}.type", "expected a string")
    if kind in COMPOUNDS:
        _only(value, {"type", "filters"}, where)
        members = value.get("filters")
        if not isinstance(members, list) or not members:
            raise _invalid(f"{where}.filters", "expected a non-empty array of filters")
        parsed = tuple(_parse(m, f"{where}.filters[{i}]", depth + 1) for i, m in enumerate(members))
        return Compound("and" if kind == "and" else "or", parsed)
    if kind in COMPARISONS:
        _only(value, {"type", "key", "value"}, where)
        for name in ("key", "value"):
            if name not in value:
                where_name = f"{where}.{name}"
                raise InvalidParameter(
                    f"Missing required parameter: '{where_name}'.", param=where_name
                )
        key = value["key"]
        if not isinstance(key, str) or not key:
            raise _invalid(f"{where}.key", "expected a non-empty string")
        compared = _compared(kind, value["value"], f"{where}.value")
        return Comparison(key, COMPARISONS[kind], compared)
    allowed = ", ".join(sorted(COMPARISONS.keys() | COMPOUNDS))
    raise _invalid(f"{where}.type", f"expected one of {allowed}, got {kind!r}")


def _compared(kind: str, value: Any, where: str) -> AttributeValue | tuple[AttributeValue, ...]:
    if isinstance(value, list):
        if kind not in LIST_OPS:
            raise _invalid(where, f"an array is compared only by in and nin, not {kind}")
        if not value:
            raise _invalid(where, "expected a non-empty array")
        return tuple(_scalar(v, f"{where}[{i}]") for i, v in enumerate(value))
    return _scalar(value, where)


def _scalar(value: Any, where: str) -> AttributeValue:
    if isinstance(value, str | bool | int | float):
        return value
    raise _invalid(where, "expected a string, number or boolean")


def _only(value: dict[str, Any], fields: set[str], where: str) -> None:
    for name in value:
        if name not in fields:
            raise _invalid(f"{where}.{name}", "unknown field")


def _invalid(where: str, problem: str) -> InvalidParameter:
    return InvalidParameter(f"Invalid '{where}': {problem}.", param=where)

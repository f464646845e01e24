"""The `file_search` tool's options, wire -> core, with OpenAI's checks and wording.

`vector_store_ids` (1 to `MAX_FILE_SEARCH_STORES` ids), `max_num_results` (1 to 50),
`filters` (a ComparisonFilter `{type: eq|ne|gt|gte|lt|lte|in|nin, key, value}` or a
CompoundFilter `{type: and|or, filters: [...]}`), `ranking_options` (`ranker`,
`score_threshold` in [0, 1]). Every option is honoured or refused: `hybrid_search`'s
weights are refused (the search fuses its two rankings by rank, not by weights), and so is
any option OpenAI does not define."""

from __future__ import annotations

from typing import Any, cast, get_args

from openscope.core.builtin_tools import FILE_SEARCH_RANKERS, FileSearch
from openscope.core.errors import InvalidParameter
from openscope.core.knowledge import (
    MAX_FILE_SEARCH_STORES,
    MAX_FILTER_DEPTH,
    MAX_SEARCH_RESULTS,
    AttributeValue,
    Comparison,
    ComparisonOp,
    Compound,
    Filter,
    filter_problem,
)

COMPARISONS: tuple[str, ...] = get_args(ComparisonOp)
COMPOUNDS = ("and", "or")
FILTER_TYPES = (*COMPARISONS, *COMPOUNDS)
OPTIONS = ("vector_store_ids", "max_num_results", "filters", "ranking_options")


def file_search_tool(options: dict[str, Any], where: str) -> FileSearch:
    """A `file_search` tool from its wire fields but `type`; `where`: its place in the
    request (`tools[0]`), which every refusal names."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise _invalid(f"Unknown parameter: '{where}.{unknown[0]}'.")
    ids = _store_ids(options.get("vector_store_ids"), f"{where}.vector_store_ids")
    limit = options.get("max_num_results")
    if limit is not None:
        limit = _integer(limit, f"{where}.max_num_results", 1, MAX_SEARCH_RESULTS)
    raw_filters = options.get("filters")
    filters = None if raw_filters is None else _filter(raw_filters, f"{where}.filters", 1)
    problem = None if filters is None else filter_problem(filters)
    if problem is not None:
        raise _invalid(f"Invalid '{where}.filters': {problem}.")
    ranker, threshold = _ranking(options.get("ranking_options"), f"{where}.ranking_options")
    return FileSearch(
        ids, max_num_results=limit, filters=filters, score_threshold=threshold, ranker=ranker
    )


def _store_ids(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        raise _invalid(f"Missing required parameter: '{where}'.")
    if not isinstance(value, list):
        raise _invalid(f"Invalid type for '{where}': expected an array of strings.")
    if not value:
        raise _invalid(
            f"Invalid '{where}': empty array. Expected an array with minimum length 1, but "
            "got an empty array instead."
        )
    if len(value) > MAX_FILE_SEARCH_STORES:
        raise _invalid(
            f"Invalid '{where}': array too long. Expected an array with maximum length "
            f"{MAX_FILE_SEARCH_STORES}, but got an array with length {len(value)} instead."
        )
    for n, store in enumerate(value):
        if not isinstance(store, str) or not store:
            raise _invalid(f"Invalid type for '{where}[{n}]': expected a vector store id.")
    if len(set(value)) != len(value):
        raise _invalid(f"Invalid '{where}': a vector store is named more than once.")
    return tuple(value)


def _integer(value: object, where: str, least: int, most: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _invalid(f"Invalid type for '{where}': expected an integer, but got {_kind(value)}.")
    if value < least:
        raise _invalid(
            f"Invalid '{where}': integer below minimum value. Expected a value greater than "
            f"or equal to {least}, but got {value} instead."
        )
    if value > most:
        raise _invalid(
            f"Invalid '{where}': integer above maximum value. Expected a value less than or "
            f"equal to {most}, but got {value} instead."
        )
    return value


def _filter(value: object, where: str, depth: int) -> Filter:
    if not isinstance(value, dict):
        raise _invalid(f"Invalid type for '{where}': expected an object, but got {_kind(value)}.")
    if depth > MAX_FILTER_DEPTH:
        raise _invalid(f"Invalid '{where}': filters nest at most {MAX_FILTER_DEPTH} deep.")
    kind = value.get("type")
    if kind is None:
        raise _invalid(f"Missing required parameter: '{where}.type'.")
    if kind not in FILTER_TYPES:
        listed = ", ".join(f"'{t}'" for t in FILTER_TYPES[:-1])
        raise _invalid(
            f"Invalid value: '{kind}'. Supported values are: {listed}, and "
            f"'{FILTER_TYPES[-1]}'. (at '{where}.type')"
        )
    if kind in COMPOUNDS:
        _no_other_fields(value, ("type", "filters"), where)
        parts = value.get("filters")
        if parts is None:
            raise _invalid(f"Missing required parameter: '{where}.filters'.")
        if not isinstance(parts, list) or not parts:
            raise _invalid(f"Invalid '{where}.filters': expected a non-empty array of filters.")
        return Compound(
            cast(Any, kind),
            tuple(_filter(f, f"{where}.filters[{n}]", depth + 1) for n, f in enumerate(parts)),
        )
    _no_other_fields(value, ("type", "key", "value"), where)
    key = value.get("key")
    if key is None:
        raise _invalid(f"Missing required parameter: '{where}.key'.")
    if not isinstance(key, str) or not key:
        raise _invalid(f"Invalid type for '{where}.key': expected a non-empty string.")
    if "value" not in value:
        raise _invalid(f"Missing required parameter: '{where}.value'.")
    return Comparison(key, cast(Any, kind), _value(value["value"], kind, f"{where}.value"))


def _value(value: object, kind: str, where: str) -> AttributeValue | tuple[AttributeValue, ...]:
    if kind in ("in", "nin"):
        if not isinstance(value, list) or not value:
            raise _invalid(
                f"Invalid '{where}': '{kind}' compares with a non-empty array of strings, "
                "numbers or booleans."
            )
        return tuple(_scalar(v, f"{where}[{n}]") for n, v in enumerate(value))
    scalar = _scalar(value, where)
    if kind in ("gt", "gte", "lt", "lte") and isinstance(scalar, bool):
        raise _invalid(f"Invalid '{where}': '{kind}' compares with a number or a string.")
    return scalar


def _scalar(value: object, where: str) -> AttributeValue:
    if isinstance(value, str | bool | int | float):
        return value  # an int compares as the number it is (kept as sent, to be echoed)
    raise _invalid(
        f"Invalid type for '{where}': expected a string, number or boolean, but got {_kind(value)}."
    )


def _ranking(value: object, where: str) -> tuple[str | None, float | None]:
    if value is None:
        return None, None
    if not isinstance(value, dict):
        raise _invalid(f"Invalid type for '{where}': expected an object, but got {_kind(value)}.")
    if "hybrid_search" in value:
        raise _invalid(
            f"Invalid '{where}.hybrid_search': not supported; the search fuses its vector "
            "and keyword rankings by rank, with no weights to set."
        )
    _no_other_fields(value, ("ranker", "score_threshold"), where)
    ranker = value.get("ranker")
    if ranker is not None and ranker not in FILE_SEARCH_RANKERS:
        listed = ", ".join(f"'{r}'" for r in FILE_SEARCH_RANKERS[:-1])
        raise _invalid(
            f"Invalid value: '{ranker}'. Supported values are: {listed}, and "
            f"'{FILE_SEARCH_RANKERS[-1]}'. (at '{where}.ranker')"
        )
    threshold = value.get("score_threshold")
    if threshold is not None:
        if not isinstance(threshold, int | float) or isinstance(threshold, bool):
            raise _invalid(
                f"Invalid type for '{where}.score_threshold': expected a number, but got "
                f"{_kind(threshold)}."
            )
        if not 0 <= threshold <= 1:
            raise _invalid(
                f"Invalid '{where}.score_threshold': expected a number between 0 and 1, but "
                f"got {threshold} instead."
            )
        threshold = float(threshold)
    return ranker, threshold


def _no_other_fields(value: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise _invalid(f"Unknown parameter: '{where}.{unknown[0]}'.")


def _kind(value: object) -> str:
    match value:
        case None:
            return "null"
        case bool():
            return "a boolean"
        case int() | float():
            return "a number"
        case str():
            return "a string"
        case list():
            return "an array"
        case dict():
            return "an object"
        case _:
            return type(value).__name__


def _invalid(message: str) -> InvalidParameter:
    return InvalidParameter(message, param="tools")

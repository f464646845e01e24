from typing import Any

from openscope.core import limits


def nested(levels: int) -> Any:
    """`levels` lists inside each other, built without recursion."""
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


def test_nesting_counts_levels_of_lists_and_objects() -> None:
    assert not limits.nesting_exceeds("text", 0)
    assert not limits.nesting_exceeds([], 1)
    assert limits.nesting_exceeds([], 0)
    mixed = {"a": [1, {"b": [{}]}], "c": "flat"}  # five levels: {, [, {, [, {
    assert not limits.nesting_exceeds(mixed, 5)
    assert limits.nesting_exceeds(mixed, 4)
    # the deepest branch counts, wherever it is
    assert limits.nesting_exceeds([1, [], {"x": nested(5)}], 6)


def test_nesting_far_past_the_interpreters_stack() -> None:
    value = nested(100_000)
    assert limits.nesting_exceeds(value, 64)
    assert not limits.nesting_exceeds(value, 100_000)

"""Pydantic's validation errors in words an operator reads: each problem by the name of
what was wrong (a setting, a backend option), never with its value, which may be a secret
(an API key, a pepper)."""

from __future__ import annotations

from pydantic import ValidationError


def describe_errors(error: ValidationError, noun: str) -> str:
    """`noun` names what the locations are ("setting", "option")."""
    problems = []
    for problem in error.errors(include_url=False, include_input=False, include_context=False):
        where = ".".join(str(part) for part in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        if not where:  # a rule across several: its message names them
            problems.append(message)
        elif problem["type"] == "extra_forbidden":
            problems.append(f"unknown {noun} {where!r}")
        else:
            problems.append(f"{noun} {where!r}: {message}")
    return "; ".join(problems)

"""A broken rule: which field, in which wording, with which values.

The error's `message` is the wording with the fields' wire-neutral names, for logs and
anything that reads an error without knowing its API; a protocol words the refusal again
with its own names (`wire_message`) where it builds its error body.
"""

from __future__ import annotations

from collections.abc import Callable

from openscope.core.errors import InvalidParameter, OpenScopeError
from openscope.core.rules.fields import Field
from openscope.core.rules.wording import Wording

NameOf = Callable[[Field], str]
Reword = Callable[[Wording], str | None]


def neutral_name(field: Field) -> str:
    return field.value


def no_rewording(wording: Wording) -> str | None:
    return None


class Refusal(InvalidParameter):
    """`param` is the `Field` refused: a str, so code that reads `param` keeps working."""

    def __init__(self, wording: Wording, field: Field, **values: object) -> None:
        clash = {str(f) for f in Field} & set(values)
        if clash or "param" in values:
            # A value named like a field would silently replace that field's name.
            raise ValueError(f"refusal values named like a field: {sorted(clash)}")
        self.wording = wording
        self.field = field
        self.values = values
        super().__init__(self.worded(neutral_name), param=field)

    def worded(self, name_of: NameOf, reword: Reword = no_rewording) -> str:
        template = reword(self.wording) or self.wording.value
        names = {str(field): name_of(field) for field in Field}
        return template.format_map({**names, "param": name_of(self.field), **self.values})


def wire_message(error: OpenScopeError, name_of: NameOf, reword: Reword = no_rewording) -> str:
    """The error's message as a protocol words it: a refusal in that protocol's names and
    wording, any other error as it was raised (already in its API's words)."""
    if isinstance(error, Refusal):
        return error.worded(name_of, reword)
    return error.message


def wire_param(error: OpenScopeError, name_of: NameOf) -> str | None:
    """The parameter an error names, as a protocol names it."""
    if isinstance(error.param, Field):
        return name_of(error.param)
    return error.param

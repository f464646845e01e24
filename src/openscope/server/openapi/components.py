"""The wire models' JSON schemas as OpenAPI components.

Each protocol names its models alike (`MessageWire`, `ToolWire`), so a component is
named after its protocol too: `openai_chat.MessageWire`. A model's nested models (its
`$defs`) become components of their own, and its `$ref`s point at them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

REF = "#/components/schemas/"


def namespace(model: type[BaseModel]) -> str:
    """`openscope.protocols.openai_chat.schemas` -> `openai_chat`."""
    parts = model.__module__.split(".")
    return parts[2] if len(parts) > 3 and parts[1] == "protocols" else parts[-1]


class Components:
    """The schemas gathered while the document is built (made anew for each document)."""

    def __init__(self) -> None:
        self.schemas: dict[str, dict[str, Any]] = {}

    def ref(self, model: type[BaseModel]) -> dict[str, str]:
        """A `$ref` to `model`'s schema, as the route validates a body against it."""
        prefix = namespace(model)
        name = f"{prefix}.{model.__name__}"
        if name not in self.schemas:
            schema = model.model_json_schema(
                mode="validation", ref_template=f"{REF}{prefix}.{{model}}"
            )
            for nested, definition in schema.pop("$defs", {}).items():
                self.schemas.setdefault(f"{prefix}.{nested}", definition)
            self.schemas[name] = schema
        return {"$ref": f"{REF}{name}"}

"""OpenAI's `metadata` (responses, conversations, vector stores): up to 16 string pairs,
keys of at most 64 characters, values of at most 512, refused beyond in OpenAI's words."""

from __future__ import annotations

from collections.abc import Mapping

from openscope.core.errors import InvalidParameter

MAX_METADATA_PAIRS = 16
MAX_METADATA_KEY_CHARS = 64
MAX_METADATA_VALUE_CHARS = 512


def checked_metadata(value: Mapping[str, str] | None) -> dict[str, str]:
    """`value` as a dict, or InvalidParameter (param `metadata`) naming the bound it
    passes."""
    pairs = dict(value or {})
    if len(pairs) > MAX_METADATA_PAIRS:
        raise InvalidParameter(
            f"Invalid 'metadata': too many properties. Expected an object with at most "
            f"{MAX_METADATA_PAIRS} properties, but got an object with {len(pairs)} properties "
            "instead.",
            param="metadata",
        )
    for key, text in pairs.items():
        if len(key) > MAX_METADATA_KEY_CHARS:
            raise InvalidParameter(
                f"Invalid 'metadata': key too long. Expected a key with maximum length "
                f"{MAX_METADATA_KEY_CHARS}, but got a key with length {len(key)} instead.",
                param="metadata",
            )
        if len(text) > MAX_METADATA_VALUE_CHARS:
            raise InvalidParameter(
                f"Invalid 'metadata.{key}': string too long. Expected a string with maximum "
                f"length {MAX_METADATA_VALUE_CHARS}, but got a string with length {len(text)} "
                "instead.",
                param="metadata",
            )
    return pairs

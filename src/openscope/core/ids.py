"""Identifiers in the shapes clients expect to see."""

from __future__ import annotations

import secrets
import uuid


def request_id() -> str:
    return str(uuid.uuid4())


def chat_completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4()}"


def tool_call_id() -> str:
    return f"call_{secrets.token_hex(12)}"


def api_key() -> str:
    return f"sk-{secrets.token_hex(24)}"


def message_id() -> str:
    return f"msg_{secrets.token_hex(12)}"


def response_id() -> str:
    return f"resp_{secrets.token_hex(24)}"


def conversation_id() -> str:
    return f"conv_{secrets.token_hex(24)}"


def input_item_id(prefix: str = "msg") -> str:
    return f"{prefix}_{secrets.token_hex(24)}"


def output_item_id(prefix: str, response: str, index: int) -> str:
    """The id of output item `index` of a response. Derived, not drawn, so the protocol that
    streams the item and the store that keeps it name it the same without passing ids."""
    return f"{prefix}_{response.removeprefix('resp_')}{index:04d}"

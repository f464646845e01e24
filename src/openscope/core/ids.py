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

"""Example request bodies for the documented routes: small, realistic, and each one
accepted as it stands by a server with the default settings (tests/server/test_openapi.py
posts every one of them). They name the model `qwen-plus`, as Model Studio's own examples
do, and the ids of objects a client made earlier as the OpenAI docs write them."""

from __future__ import annotations

from typing import Any

# An uploaded file's id in the examples that need one (the test puts a real one in its
# place, as a reader would).
FILE_ID = "file-abc123"
# The workspace the admin API's example creates, and its limits example names.
WORKSPACE_ID = "team-a"

MODEL = "qwen-plus"
EMBEDDING_MODEL = "text-embedding-v4"
QUESTION = "What is a large language model?"
BRIEF = "You answer in one sentence."
WEATHER_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "a city's name"}},
    "required": ["city"],
}
WEATHER = "get_weather"
WEATHER_DESCRIPTION = "The current weather in a city."
WEATHER_QUESTION = "What is the weather in Hangzhou?"

Examples = dict[str, dict[str, Any]]  # name -> {"summary": ..., "value": ...}


def example(summary: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"summary": summary, "value": value}


def chat_examples() -> Examples:
    return {
        "hello": example(
            "A question, with a system prompt",
            {
                "model": MODEL,
                "messages": [
                    {"role": "system", "content": BRIEF},
                    {"role": "user", "content": QUESTION},
                ],
                "temperature": 0.7,
                "max_tokens": 128,
            },
        ),
        "stream": example(
            "Streamed, with the usage in the last chunk",
            {
                "model": MODEL,
                "messages": [{"role": "user", "content": "Count to three."}],
                "stream": True,
                "stream_options": {"include_usage": True},
            },
        ),
        "tools": example(
            "A function the model may call",
            {
                "model": MODEL,
                "messages": [{"role": "user", "content": WEATHER_QUESTION}],
                "tools": [
                    {
                        "type": "function",
                        "function": {
                            "name": WEATHER,
                            "description": WEATHER_DESCRIPTION,
                            "parameters": WEATHER_PARAMETERS,
                        },
                    }
                ],
            },
        ),
    }


def messages_examples() -> Examples:
    return {
        "hello": example(
            "A question, with a system prompt",
            {
                "model": MODEL,
                "max_tokens": 256,
                "system": BRIEF,
                "messages": [{"role": "user", "content": QUESTION}],
            },
        ),
        "stream": example(
            "Streamed as server-sent events",
            {
                "model": MODEL,
                "max_tokens": 256,
                "messages": [{"role": "user", "content": "Count to three."}],
                "stream": True,
            },
        ),
        "tools": example(
            "A tool the model may use",
            {
                "model": MODEL,
                "max_tokens": 256,
                "messages": [{"role": "user", "content": WEATHER_QUESTION}],
                "tools": [
                    {
                        "name": WEATHER,
                        "description": WEATHER_DESCRIPTION,
                        "input_schema": WEATHER_PARAMETERS,
                    }
                ],
            },
        ),
    }


def count_tokens_examples() -> Examples:
    return {
        "hello": example(
            "The tokens of a conversation",
            {
                "model": MODEL,
                "system": BRIEF,
                "messages": [{"role": "user", "content": QUESTION}],
            },
        )
    }


def responses_examples() -> Examples:
    return {
        "hello": example(
            "A question, with instructions",
            {"model": MODEL, "instructions": BRIEF, "input": QUESTION},
        ),
        "stream": example(
            "Streamed, not stored",
            {
                "model": MODEL,
                "input": [{"role": "user", "content": "Count to three."}],
                "stream": True,
                "store": False,
            },
        ),
        "tools": example(
            "A function the model may call",
            {
                "model": MODEL,
                "input": WEATHER_QUESTION,
                "tools": [
                    {
                        "type": "function",
                        "name": WEATHER,
                        "description": WEATHER_DESCRIPTION,
                        "parameters": WEATHER_PARAMETERS,
                    }
                ],
            },
        ),
    }


def conversation_create_examples() -> Examples:
    return {
        "greeting": example(
            "A conversation that starts with a message",
            {
                "metadata": {"topic": "demo"},
                "items": [{"type": "message", "role": "user", "content": "Hello!"}],
            },
        )
    }


def conversation_update_examples() -> Examples:
    return {"metadata": example("New metadata", {"metadata": {"topic": "greetings"}})}


def items_create_examples() -> Examples:
    return {
        "message": example(
            "One more user message",
            {"items": [{"type": "message", "role": "user", "content": "Tell me more."}]},
        )
    }


def embeddings_examples() -> Examples:
    return {
        "texts": example(
            "Two texts",
            {
                "model": EMBEDDING_MODEL,
                "input": ["The quick brown fox", "jumps over the lazy dog"],
                "encoding_format": "float",
            },
        )
    }


def upload_examples() -> Examples:
    return {
        "notes": example(
            "A text file for a vector store",
            {
                "file": "Passwords are reset from the account page, under Security.\n",
                "purpose": "assistants",
            },
        )
    }


def store_create_examples() -> Examples:
    return {
        "faq": example(
            "A store that expires a week after its last use",
            {
                "name": "Support FAQ",
                "metadata": {"team": "support"},
                "expires_after": {"anchor": "last_active_at", "days": 7},
            },
        )
    }


def store_update_examples() -> Examples:
    return {"rename": example("A new name", {"name": "Support FAQ (2026)"})}


def store_file_create_examples() -> Examples:
    return {
        "file": example(
            "An uploaded file, with attributes to filter on",
            {"file_id": FILE_ID, "attributes": {"team": "support", "year": 2026}},
        )
    }


def store_file_update_examples() -> Examples:
    return {
        "attributes": example(
            "New attributes", {"attributes": {"team": "support", "reviewed": True}}
        )
    }


def batch_create_examples() -> Examples:
    return {
        "files": example(
            "Files that share their attributes",
            {"file_ids": [FILE_ID], "attributes": {"team": "support"}},
        )
    }


def search_examples() -> Examples:
    return {
        "filtered": example(
            "A question, among the support team's files",
            {
                "query": "How do I reset my password?",
                "max_num_results": 5,
                "filters": {"type": "eq", "key": "team", "value": "support"},
            },
        )
    }


def workspace_create_examples() -> Examples:
    return {
        "team": example(
            "A workspace limited to one model",
            {"id": WORKSPACE_ID, "name": "Team A", "models": [MODEL]},
        )
    }


def workspace_update_examples() -> Examples:
    return {"rename": example("A new name", {"name": "Team A (production)"})}


def key_create_examples() -> Examples:
    return {
        "limited": example(
            "A key of the default workspace, with a rate limit on every model",
            {"name": "ci", "limits": {"*": {"rpm": 60}}},
        )
    }


def limits_examples() -> Examples:
    return {
        "overlay": example(
            "Limits on one model in the workspace the example above creates",
            {
                "workspace_id": WORKSPACE_ID,
                "models": [{"model": MODEL, "request_limit": 60, "usage_limit": 100000}],
            },
        )
    }

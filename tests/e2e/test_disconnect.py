"""A client that hangs up must not keep the model busy: the embedded model serves one
generation at a time, so a long generation left running would hold up the next request
for many seconds (about 100 tokens/s here, so 2000 tokens take about 20 s)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import MODEL, Server

pytestmark = pytest.mark.e2e

URL = "/compatible-mode/v1/chat/completions"
LONG = {
    "model": MODEL,
    "messages": [
        {
            "role": "user",
            "content": "Write a very long and detailed essay about the history of the Roman "
            "Empire, covering every emperor in turn.",
        }
    ],
    "max_tokens": 2000,
    "temperature": 1.0,
    # fixed so the run is repeatable (a sample that stopped early would prove nothing)
    "seed": 7,
}
QUICK_LIMIT_S = 5.0


def _raw_client(server: Server, timeout: float = 60.0) -> httpx.Client:
    return httpx.Client(
        base_url=server.root_url,
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=timeout,
    )


def _timed_quick_request(http: httpx.Client) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    response = http.post(
        URL,
        json={
            "model": MODEL,
            "messages": [{"role": "user", "content": "Say hi."}],
            "max_tokens": 8,
        },
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return elapsed, body


def test_closing_a_stream_stops_generation(server: Server, http: httpx.Client) -> None:
    chunks = []
    with (
        _raw_client(server) as own,
        own.stream("POST", URL, json={**LONG, "stream": True}) as response,
    ):
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: "):
                chunks.append(line)
            if len(chunks) >= 3:
                break
    # leaving both blocks closed the response and the connection mid-stream
    assert len(chunks) == 3
    assert "[DONE]" not in chunks[-1]

    elapsed, body = _timed_quick_request(http)
    assert body["choices"][0]["message"]["content"]
    assert elapsed < QUICK_LIMIT_S, f"quick request took {elapsed:.1f} s after a hang-up"


def test_abandoning_a_non_stream_request_stops_generation(
    server: Server, http: httpx.Client
) -> None:
    with _raw_client(server, timeout=0.5) as own, pytest.raises(httpx.ReadTimeout):
        own.post(URL, json=LONG)

    elapsed, body = _timed_quick_request(http)
    assert body["choices"][0]["message"]["content"]
    assert elapsed < QUICK_LIMIT_S, f"quick request took {elapsed:.1f} s after a hang-up"

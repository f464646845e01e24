"""The engines' own load in the choice of replica: each replica's metrics page read for the
requests its engine holds (running and waiting), others' requests counted beside ours, the
affinity rule's bounded imbalance kept; a page that is missing or unreadable leaves only
our own count, never an error."""

from __future__ import annotations

from typing import Any

import pytest

from openscope.backends.openai_upstream import UpstreamBackend
from openscope.backends.openai_upstream.dialect import DIALECTS
from openscope.backends.openai_upstream.engine_load import reported_load
from openscope.backends.openai_upstream.options import UpstreamOptions
from openscope.backends.openai_upstream.replicas import IMBALANCE, Replica, ReplicaPool
from openscope.backends.openai_upstream.transport import TransportError
from openscope.core.fold import fold
from openscope.core.messages import Message, Role, TextPart
from openscope.core.request import GenerateRequest
from tests.backends.openai_upstream.fakes import FakeTransport, Reply, delta, sse, usage_chunk

A, B = "http://a.test/v1", "http://b.test/v1"
ANSWER = sse(delta(content="Hello"), delta(finish="stop"), usage_chunk(3, 1))

# As the engines print them (labels and all), trimmed to the lines that matter and a few
# that do not.
VLLM_PAGE = b"""\
# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="Qwen/Qwen3-8B"} 3.0
vllm:num_requests_running{engine="1",model_name="Qwen/Qwen3-8B"} 2.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="Qwen/Qwen3-8B"} 4.0
vllm:num_requests_waiting{engine="1",model_name="Qwen/Qwen3-8B"} 0.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="Qwen/Qwen3-8B"} 0.5
# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.001",model_name="Qwen/Qwen3-8B"} 0.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="Qwen/Qwen3-8B"} 7.0
vllm:time_to_first_token_seconds_count{engine="0",model_name="Qwen/Qwen3-8B"} 7.0
vllm:time_to_first_token_seconds_sum{engine="0",model_name="Qwen/Qwen3-8B"} 1.5
"""
SGLANG_PAGE = b"""\
# HELP sglang:num_running_reqs The number of running requests
# TYPE sglang:num_running_reqs gauge
sglang:num_running_reqs{model_name="Qwen/Qwen3-8B"} 162.0
# HELP sglang:num_queue_reqs The number of requests in the waiting queue
# TYPE sglang:num_queue_reqs gauge
sglang:num_queue_reqs{model_name="Qwen/Qwen3-8B"} 2826.0
"""


def llama_page(processing: int, deferred: int) -> bytes:
    return (
        "# HELP llamacpp:requests_processing Number of requests processing\n"
        "# TYPE llamacpp:requests_processing gauge\n"
        f"llamacpp:requests_processing {processing}\n"
        "# HELP llamacpp:requests_deferred Number of requests deferred\n"
        "# TYPE llamacpp:requests_deferred gauge\n"
        f"llamacpp:requests_deferred {deferred}\n"
    ).encode()


@pytest.mark.parametrize(
    ("dialect", "page", "held"),
    [("vllm", VLLM_PAGE, 9), ("sglang", SGLANG_PAGE, 2988), ("llama-server", llama_page(2, 5), 7)],
)
def test_each_engine_s_page_is_read_with_its_own_names(
    dialect: str, page: bytes, held: int
) -> None:
    assert reported_load(page, DIALECTS[dialect].load_gauges) == held  # type: ignore[index]


@pytest.mark.parametrize(
    "page",
    [
        b'{"error":{"code":501,"message":"This server does not support metrics endpoint."}}',
        b"<html><body>Not here</body></html>",
        b"",
        b"\xff\xfe\x00",
        b"llamacpp:requests_processing 2\n",  # one of the two: the sum would understate
        b"llamacpp:requests_processing NaN\nllamacpp:requests_deferred 1\n",
        b"llamacpp:requests_processing -3\nllamacpp:requests_deferred 1\n",
        VLLM_PAGE,  # another engine's names
    ],
)
def test_a_page_without_the_load_reports_none(page: bytes) -> None:
    assert reported_load(page, DIALECTS["llama-server"].load_gauges) is None


def test_engines_without_a_load_gauge_report_none() -> None:
    for name in ("ollama", "dashscope", "openai"):
        assert reported_load(llama_page(1, 1), DIALECTS[name].load_gauges) is None  # type: ignore[index]


def sticky_to(pool: ReplicaPool, replica: Replica) -> bytes:
    return next(f"k{n}".encode() for n in range(100) if pool.order(f"k{n}".encode())[0] is replica)


def test_others_requests_count_with_ours_within_the_same_bound() -> None:
    a, b = Replica(A, {}), Replica(B, {})
    pool = ReplicaPool([a, b])
    key = sticky_to(pool, a)
    a.outstanding, a.others = 1, IMBALANCE - 1
    assert pool.order(key)[0] is a  # a holds IMBALANCE, b none: still within the bound
    a.others = IMBALANCE
    assert pool.order(key) == [b, a]
    b.others = 1  # the bound is against the least busy, others' requests included
    assert pool.order(key)[0] is a


def test_the_engine_s_count_holds_ours_which_are_not_counted_twice() -> None:
    a = Replica(A, {})
    a.outstanding = 3
    ReplicaPool.reported(a, 5)
    assert (a.others, a.load) == (2, 5)
    ReplicaPool.reported(a, 2)  # one of ours not arrived yet, or just finished
    assert (a.others, a.load) == (0, 3)
    ReplicaPool.reported(a, None)
    assert (a.others, a.load) == (None, 3)


def two(transport: FakeTransport, dialect: str = "llama-server", **options: Any) -> UpstreamBackend:
    settings = UpstreamOptions.model_validate(
        {"deployments": [{"url": A}, {"url": B}], "dialect": dialect, **options}
    )
    return UpstreamBackend(settings, transport=transport)


def ask(system: str) -> GenerateRequest:
    messages = (Message(Role.SYSTEM, (TextPart(system),)), Message(Role.USER, (TextPart("hi"),)))
    return GenerateRequest(model="m", messages=messages)


async def served_by(up: UpstreamBackend, fake: FakeTransport, request: GenerateRequest) -> str:
    fake.replies.append(Reply(lines=ANSWER))
    assert fold([e async for e in up.generate(request, "m")]).choices[0].message.text == "Hello"
    return fake.sent[-1][0].removesuffix("/chat/completions")


async def test_the_choice_follows_the_load_each_engine_reports() -> None:
    fake = FakeTransport()
    up = two(fake)
    requests = [ask(f"You are assistant {n}.") for n in range(12)]
    idle = [await served_by(up, fake, r) for r in requests]
    assert set(idle) == {A, B}  # with no load reported, each prefix keeps to its replica
    fake.pages["http://a.test/metrics"] = (200, llama_page(2, IMBALANCE))
    fake.pages["http://b.test/metrics"] = (200, llama_page(0, 0))
    await up.poll_load()
    assert [r.others for r in up.replicas] == [2 + IMBALANCE, 0]
    assert {await served_by(up, fake, r) for r in requests} == {B}
    fake.pages["http://a.test/metrics"] = (200, llama_page(1, 0))
    await up.poll_load()
    assert [await served_by(up, fake, r) for r in requests] == idle  # affinity is back


@pytest.mark.parametrize(
    "answer",
    [
        (501, b'{"error":{"code":501,"message":"Start it with `--metrics`"}}'),  # llama-server
        (404, b"Not Found"),
        (200, b"<html>a proxy's page</html>"),
        (200, b"llamacpp:requests_processing 2\n"),
        TransportError("ClientConnectorError: refused"),
    ],
)
async def test_without_a_readable_page_only_our_requests_count(
    answer: tuple[int, bytes] | Exception,
) -> None:
    fake = FakeTransport()
    up = two(fake)
    fake.pages["http://b.test/metrics"] = (200, llama_page(0, 0))
    fake.pages["http://a.test/metrics"] = (200, llama_page(3, 9))
    await up.poll_load()
    fake.pages["http://a.test/metrics"] = answer  # what it reported before is dropped
    await up.poll_load()
    assert [r.others for r in up.replicas] == [None, 0]
    requests = [ask(f"You are assistant {n}.") for n in range(12)]
    assert {await served_by(up, fake, r) for r in requests} == {A, B}


async def test_load_is_polled_from_start_to_close_only_where_an_engine_reports_it() -> None:
    import asyncio

    fake = FakeTransport()
    up = two(fake, "vllm", health_interval_seconds=0, load_interval_seconds=0.01)
    fake.pages["http://a.test/metrics"] = (200, VLLM_PAGE)
    await up.start()
    await asyncio.sleep(0.05)
    await up.close()
    assert set(fake.checked) == {"http://a.test/metrics", "http://b.test/metrics"}
    assert len(fake.checked) >= 4 and up.replicas[0].others == 9
    seen = len(fake.checked)
    await asyncio.sleep(0.03)
    assert len(fake.checked) == seen  # stopped
    for dialect in ("ollama", "dashscope", "openai"):
        fake = FakeTransport()
        up = two(fake, dialect, health_interval_seconds=0, load_interval_seconds=0.01)
        await up.start()
        await asyncio.sleep(0.03)
        await up.close()
        assert fake.checked == [], dialect

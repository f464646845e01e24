"""Chat Completions through the official OpenAI SDK, against the real server and the real
embedded model."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from tests.e2e.conftest import ALIAS, MODEL, Server

pytestmark = pytest.mark.e2e

HELLO = [{"role": "user", "content": "Say hello to me in one short sentence."}]
STORY = [{"role": "user", "content": "Write a long story about a dragon who lives in a castle."}]
SEA = [{"role": "user", "content": "Describe the sea in three sentences."}]


def create(client: openai.OpenAI, **fields: Any) -> ChatCompletion:
    fields.setdefault("model", MODEL)
    fields.setdefault("messages", HELLO)
    fields.setdefault("max_tokens", 24)
    completion: ChatCompletion = client.chat.completions.create(**fields)
    return completion


def stream_chunks(client: openai.OpenAI, **fields: Any) -> list[ChatCompletionChunk]:
    fields.setdefault("model", MODEL)
    fields.setdefault("messages", HELLO)
    fields.setdefault("max_tokens", 24)
    return list(client.chat.completions.create(stream=True, **fields))


def chunk_text(chunks: list[ChatCompletionChunk], index: int = 0) -> str:
    return "".join(
        c.choices[0].delta.content or ""
        for c in chunks
        if c.choices and c.choices[0].index == index
    )


def error_of(raised: pytest.ExceptionInfo[openai.APIStatusError]) -> dict[str, Any]:
    """The whole error body (the SDK keeps only its `error` member), checked for the
    Model Studio shape and its request id."""
    response = raised.value.response
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "request_id"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["request_id"] == response.headers["x-request-id"]
    return body["error"]


# -- answers ----------------------------------------------------------------------------


def test_non_stream_answer(client: openai.OpenAI) -> None:
    completion = create(client, max_tokens=24)
    assert completion.id.startswith("chatcmpl-")
    assert completion.object == "chat.completion"
    assert completion.model == MODEL
    assert len(completion.choices) == 1
    choice = completion.choices[0]
    assert choice.index == 0
    assert choice.message.role == "assistant"
    assert choice.message.content and choice.message.content.strip()
    assert choice.message.tool_calls is None
    assert choice.logprobs is None
    assert choice.finish_reason in ("stop", "length")
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens > 0
    assert 0 < usage.completion_tokens <= 24
    if choice.finish_reason == "length":
        assert usage.completion_tokens == 24
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 0


def test_prompt_tokens_grow_with_the_prompt(client: openai.OpenAI) -> None:
    short = create(client, max_tokens=1, messages=[{"role": "user", "content": "Hi"}])
    long = create(
        client,
        max_tokens=1,
        messages=[{"role": "user", "content": "Hi, " + "please tell me about the weather, " * 8}],
    )
    again = create(client, max_tokens=1, messages=[{"role": "user", "content": "Hi"}])
    assert short.usage is not None and long.usage is not None and again.usage is not None
    assert short.usage.prompt_tokens == again.usage.prompt_tokens
    assert long.usage.prompt_tokens >= short.usage.prompt_tokens + 8 * 7


def test_stream_answer(client: openai.OpenAI) -> None:
    chunks = stream_chunks(client, max_tokens=24)
    assert len(chunks) >= 3
    first = chunks[0]
    assert first.choices[0].delta.role == "assistant"
    assert first.id.startswith("chatcmpl-")
    assert {c.id for c in chunks} == {first.id}
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert {c.model for c in chunks} == {MODEL}
    assert all(c.usage is None for c in chunks)
    assert all(len(c.choices) == 1 and c.choices[0].index == 0 for c in chunks)
    finals = [c for c in chunks if c.choices[0].finish_reason is not None]
    assert len(finals) == 1
    assert finals[0] is chunks[-1]
    assert finals[0].choices[0].finish_reason in ("stop", "length")
    assert all(c.choices[0].delta.role is None for c in chunks[1:])
    assert chunk_text(chunks).strip()


def test_stream_and_non_stream_agree_when_greedy(client: openai.OpenAI) -> None:
    whole = create(client, messages=SEA, temperature=0, max_tokens=32)
    chunks = stream_chunks(
        client,
        messages=SEA,
        temperature=0,
        max_tokens=32,
        stream_options={"include_usage": True},
    )
    assert chunk_text(chunks) == whole.choices[0].message.content
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finals[0].choices[0].finish_reason == whole.choices[0].finish_reason
    assert chunks[-1].usage is not None and whole.usage is not None
    assert chunks[-1].usage.prompt_tokens == whole.usage.prompt_tokens
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_stream_include_usage(client: openai.OpenAI) -> None:
    chunks = stream_chunks(
        client, messages=STORY, max_tokens=16, stream_options={"include_usage": True}
    )
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert all(c.usage is None for c in chunks[:-1])
    assert all(c.choices for c in chunks[:-1])
    finals = [c for c in chunks[:-1] if c.choices[0].finish_reason is not None]
    assert len(finals) == 1 and finals[0] is chunks[-2]
    usage = last.usage
    assert usage.prompt_tokens > 0
    if finals[0].choices[0].finish_reason == "length":
        assert usage.completion_tokens == 16
    else:
        assert 0 < usage.completion_tokens < 16
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 0


def test_n_two_choices(client: openai.OpenAI) -> None:
    completion = create(client, messages=STORY, n=2, temperature=1.0, max_tokens=16)
    assert [c.index for c in completion.choices] == [0, 1]
    for choice in completion.choices:
        assert choice.message.role == "assistant"
        assert choice.finish_reason in ("stop", "length")
        if choice.finish_reason == "length":
            assert choice.message.content
    usage = completion.usage
    assert usage is not None
    assert 0 < usage.completion_tokens <= 32
    if all(c.finish_reason == "length" for c in completion.choices):
        assert usage.completion_tokens == 32
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    # the prompt is counted once, not once per choice
    single = create(client, messages=STORY, max_tokens=1)
    assert single.usage is not None
    assert usage.prompt_tokens == single.usage.prompt_tokens


def test_n_two_choices_stream(client: openai.OpenAI) -> None:
    chunks = stream_chunks(client, messages=STORY, n=2, temperature=1.0, max_tokens=12)
    for index in (0, 1):
        mine = [c for c in chunks if c.choices[0].index == index]
        assert mine, f"no chunk for choice {index}"
        assert mine[0].choices[0].delta.role == "assistant"
        finals = [c for c in mine if c.choices[0].finish_reason is not None]
        assert len(finals) == 1 and finals[0] is mine[-1]
        assert chunk_text(chunks, index)


def test_greedy_choices_are_identical(client: openai.OpenAI) -> None:
    """Each choice starts again from the prompt: at temperature 0 all of them agree."""
    completion = create(client, messages=SEA, n=3, temperature=0, max_tokens=16)
    texts = [c.message.content for c in completion.choices]
    assert [c.index for c in completion.choices] == [0, 1, 2]
    assert texts[0] and texts == [texts[0]] * 3
    single = create(client, messages=SEA, temperature=0, max_tokens=16)
    assert single.choices[0].message.content == texts[0]


def test_answers_do_not_depend_on_the_previous_request(client: openai.OpenAI) -> None:
    """The backend reuses the KV cache of a shared prompt prefix; the answer must be the
    same as from a fresh context, whatever ran before."""

    def greedy(messages: list[dict[str, str]]) -> str:
        completion = create(client, messages=messages, temperature=0, max_tokens=16)
        return completion.choices[0].message.content or ""

    baseline = greedy(SEA)
    greedy(STORY)
    after_other = greedy(SEA)
    # same prefix, different ending, then back
    greedy([{"role": "user", "content": "Describe the sea in three words."}])
    after_sibling = greedy(SEA)
    assert baseline and after_other == baseline and after_sibling == baseline


def test_concurrent_requests_all_complete(client: openai.OpenAI) -> None:
    """The model serves one generation at a time; concurrent requests queue, none is lost
    or mixed up with another."""
    from concurrent.futures import ThreadPoolExecutor

    prompts = [f"Repeat the number {i} once." for i in range(4)]

    def ask(prompt: str) -> tuple[str, str]:
        messages = [{"role": "user", "content": prompt}]
        if prompt.endswith("0 once.") or prompt.endswith("2 once."):
            chunks = stream_chunks(client, messages=messages, temperature=0, max_tokens=12)
            return prompt, chunk_text(chunks)
        completion = create(client, messages=messages, temperature=0, max_tokens=12)
        return prompt, completion.choices[0].message.content or ""

    with ThreadPoolExecutor(max_workers=4) as pool:
        together = dict(pool.map(ask, prompts))
    alone = dict(ask(p) for p in prompts)
    assert together == alone
    assert all(together.values())


def test_seed_reproduces_the_answer(client: openai.OpenAI) -> None:
    def sample(seed: int) -> str:
        completion = create(client, messages=STORY, temperature=1.0, seed=seed, max_tokens=24)
        return completion.choices[0].message.content or ""

    first = sample(1234)
    assert first
    assert sample(1234) == first
    others = [sample(seed) for seed in (1, 2, 3)]
    assert any(other != first for other in others), "different seeds gave the same text"


def test_stop_string_ends_the_answer_before_it(client: openai.OpenAI) -> None:
    greedy = create(client, messages=SEA, temperature=0, max_tokens=40)
    text = greedy.choices[0].message.content or ""
    words = re.findall(r"[A-Za-z]{4,}", text)
    # a word whose first occurrence is well inside the answer
    candidates = [w for w in words if text.index(w) >= 10]
    assert candidates, f"greedy answer too short to pick a stop string from: {text!r}"
    stop = candidates[0]
    expected = text[: text.index(stop)]

    stopped = create(client, messages=SEA, temperature=0, max_tokens=40, stop=[stop])
    content = stopped.choices[0].message.content or ""
    assert stop not in content
    assert content == expected
    assert stopped.choices[0].finish_reason == "stop"

    chunks = stream_chunks(client, messages=SEA, temperature=0, max_tokens=40, stop=stop)
    assert chunk_text(chunks) == expected
    finals = [c for c in chunks if c.choices[0].finish_reason is not None]
    assert [c.choices[0].finish_reason for c in finals] == ["stop"]


def test_logprobs_with_top_logprobs(client: openai.OpenAI) -> None:
    completion = create(
        client, messages=SEA, temperature=0, max_tokens=12, logprobs=True, top_logprobs=3
    )
    choice = completion.choices[0]
    assert choice.logprobs is not None and choice.logprobs.content
    entries = choice.logprobs.content
    assert completion.usage is not None
    assert len(entries) == completion.usage.completion_tokens
    for entry in entries:
        assert isinstance(entry.token, str) and entry.token
        assert entry.logprob <= 0.0
        assert entry.bytes
        if "\ufffd" not in entry.token:
            assert bytes(entry.bytes).decode() == entry.token
        assert len(entry.top_logprobs) == 3
        top = [t.logprob for t in entry.top_logprobs]
        assert top == sorted(top, reverse=True)
        assert all(t.logprob <= 0.0 for t in entry.top_logprobs)
        assert len({t.token for t in entry.top_logprobs}) == 3 or any(
            "\ufffd" in t.token for t in entry.top_logprobs
        )
        # greedy decoding picks the most likely token
        assert entry.token == entry.top_logprobs[0].token
        assert entry.logprob == pytest.approx(entry.top_logprobs[0].logprob)
    assert "".join(e.token for e in entries) == choice.message.content


def test_logprobs_in_stream(client: openai.OpenAI) -> None:
    chunks = stream_chunks(
        client, messages=SEA, temperature=0, max_tokens=12, logprobs=True, top_logprobs=2
    )
    tokens = [
        entry
        for c in chunks
        if c.choices[0].logprobs is not None
        for entry in c.choices[0].logprobs.content or ()
    ]
    assert tokens
    assert "".join(t.token for t in tokens) == chunk_text(chunks)
    assert all(len(t.top_logprobs) == 2 for t in tokens)


def test_max_tokens_cuts_the_answer(client: openai.OpenAI) -> None:
    completion = create(client, messages=STORY, max_tokens=5, temperature=0)
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 5
    assert completion.choices[0].message.content


def test_max_completion_tokens_cuts_the_answer(client: openai.OpenAI) -> None:
    """The SDK's newer name for max_tokens, and what LangChain's `ChatOpenAI(max_tokens=...)`
    sends. Streamed, so a server that ignores it fails fast: the stream is closed after a
    few more chunks than the limit, which stops the generation."""
    limit = 5
    stream = client.chat.completions.create(
        model=MODEL,
        messages=STORY,
        temperature=0,
        max_completion_tokens=limit,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks: list[ChatCompletionChunk] = []
    with stream:
        for chunk in stream:
            chunks.append(chunk)
            if len(chunks) > limit + 10:
                break
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content_chunks) <= limit, "max_completion_tokens was ignored"
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert [c.choices[0].finish_reason for c in finals] == ["length"]
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == limit


# -- validation -------------------------------------------------------------------------

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}
USER = {"role": "user", "content": "Hello"}

VALIDATION_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("temperature", {"temperature": 2.0}, "Temperature should be in [0.0, 2.0)"),
    ("top_p", {"top_p": 0}, "Range of top_p should be (0.0, 1.0]"),
    (
        "top_k",
        {"extra_body": {"top_k": -1}},
        "Parameter top_k be greater than or equal to 0",
    ),
    (
        "presence_penalty",
        {"presence_penalty": 3},
        "Presence_penalty should be in [-2.0, 2.0]",
    ),
    ("n", {"n": 5}, "Range of n should be [1, 4]"),
    ("seed", {"seed": -1}, "Range of seed should be [0, 2147483647]"),
    ("seed", {"extra_body": {"seed": 2**31}}, "Range of seed should be [0, 2147483647]"),
    (
        "top_logprobs",
        {"logprobs": True, "top_logprobs": 6},
        "Range of top_logprobs should be [0, 5]",
    ),
    # BEHAVIOUR.md: `Range of max_tokens should be [1, N]`, N the model's output limit
    ("max_tokens", {"max_tokens": 0}, "Range of max_tokens should be [1, 8192]"),
    ("max_tokens", {"max_tokens": 8193}, "Range of max_tokens should be [1, 8192]"),
    (
        "messages",
        {"messages": [USER, SYSTEM]},
        "The system message must be the first message in 'messages'.",
    ),
    (
        "messages",
        {"messages": [USER, {"role": "tool", "content": "42", "tool_call_id": "call_1"}]},
        'messages with role "tool" must be a response to a preceeding message with "tool_calls"',
    ),
    (
        "messages",
        {"messages": [SYSTEM]},
        "The input messages do not contain elements with the role of user.",
    ),
    (
        "response_format",
        {"response_format": {"type": "json_object"}},
        "'messages' must contain the word 'json' in some form, to use 'response_format' of "
        "type 'json_object'.",
    ),
    (
        "tool_choice",
        {"tool_choice": "always"},
        'tool_choice is one of the strings that should be ["none", "auto"]',
    ),
]


def test_json_object_mode_answers_a_json_object(client: openai.OpenAI) -> None:
    # At temperature 1 this small model sometimes rambles inside a string until max_tokens
    # (which seeds do depends on batching's floating point); every answer that ends is an
    # object.
    messages = [{"role": "user", "content": "Describe a cat as JSON with name and color."}]
    finished = 0
    for seed in (11, 12, 13, 14):
        completion = create(
            client,
            model=ALIAS,
            messages=messages,
            response_format={"type": "json_object"},
            temperature=1.0,
            seed=seed,
            max_tokens=200,
        )
        if completion.choices[0].finish_reason == "stop":
            finished += 1
            assert isinstance(json.loads(completion.choices[0].message.content or ""), dict)
    assert finished >= 2


@pytest.mark.parametrize(
    ("param", "fields", "message"),
    VALIDATION_CASES,
    ids=[f"{param}-{i}" for i, (param, _, _) in enumerate(VALIDATION_CASES)],
)
def test_validation_messages(
    client: openai.OpenAI, param: str, fields: dict[str, Any], message: str
) -> None:
    fields = {"messages": [SYSTEM, USER], "max_tokens": 8, **fields}
    with pytest.raises(openai.BadRequestError) as raised:
        create(client, **fields)
    assert raised.value.status_code == 400
    assert raised.value.code == "invalid_parameter_error"
    error = error_of(raised)
    assert error["message"] == message
    assert error["code"] == "invalid_parameter_error"
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param


def test_input_longer_than_the_context(client: openai.OpenAI) -> None:
    words = " ".join(["weather"] * 9000)
    with pytest.raises(openai.BadRequestError) as raised:
        create(client, messages=[{"role": "user", "content": words}], max_tokens=8)
    error = error_of(raised)
    assert error["code"] == "invalid_parameter_error"
    assert re.fullmatch(r"Range of input length should be \[1, \d+\]", error["message"])


def test_range_edges_are_accepted(client: openai.OpenAI) -> None:
    completion = create(
        client,
        max_tokens=1,
        temperature=1.99,
        top_p=1.0,
        presence_penalty=-2.0,
        seed=2**31 - 1,
        n=1,
        extra_body={"top_k": 0},
    )
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 1


UNSUPPORTED_CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("enable_thinking", ALIAS, {"extra_body": {"enable_thinking": True}}),
    ("enable_search", ALIAS, {"extra_body": {"enable_search": True}}),
    ("enable_code_interpreter", ALIAS, {"extra_body": {"enable_code_interpreter": True}}),
    ("modalities", MODEL, {"extra_body": {"modalities": ["text", "audio"]}}),
]


@pytest.mark.parametrize(
    ("param", "model", "fields"), UNSUPPORTED_CASES, ids=[c[0] for c in UNSUPPORTED_CASES]
)
def test_features_the_embedded_backend_lacks_are_refused(
    client: openai.OpenAI, param: str, model: str, fields: dict[str, Any]
) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        create(client, model=model, **fields)
    error = error_of(raised)
    assert error["code"] == "invalid_parameter_error"
    assert error["param"] == param
    assert param in error["message"]


def test_enable_thinking_false_is_fine_on_the_alias(client: openai.OpenAI) -> None:
    completion = create(client, model=ALIAS, max_tokens=4, extra_body={"enable_thinking": False})
    assert completion.model == ALIAS
    assert completion.choices[0].message.content


def test_the_alias_refuses_logprobs_like_qwen_plus(client: openai.OpenAI) -> None:
    # qwen-plus (the stable model) has no logprobs on Model Studio; the alias keeps its rules
    with pytest.raises(openai.BadRequestError) as raised:
        create(client, model=ALIAS, logprobs=True)
    assert error_of(raised)["param"] == "logprobs"


# -- auth and models --------------------------------------------------------------------


def test_missing_key(server: Server, http: httpx.Client) -> None:
    response = http.post(
        "/compatible-mode/v1/chat/completions",
        json={"model": MODEL, "messages": HELLO, "max_tokens": 4},
        headers={"Authorization": ""},
    )
    assert response.status_code == 401
    body = response.json()
    assert body["error"]["message"] == "No API-key provided."
    assert body["error"]["code"] == "invalid_api_key"
    assert body["request_id"] == response.headers["x-request-id"]

    sdk = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as raised:
        create(sdk, max_tokens=4, extra_headers={"Authorization": openai.omit})
    assert raised.value.status_code == 401
    assert error_of(raised)["message"] == "No API-key provided."


def test_wrong_key(server: Server) -> None:
    wrong = openai.OpenAI(base_url=server.base_url, api_key="sk-not-the-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as raised:
        create(wrong, max_tokens=4)
    assert raised.value.status_code == 401
    assert raised.value.code == "invalid_api_key"
    assert error_of(raised)["message"] == "Incorrect API key provided. "
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()


def test_unknown_model(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        create(client, model="gpt-9")
    assert raised.value.status_code == 404
    assert raised.value.code == "model_not_found"
    error = error_of(raised)
    assert error["message"] == "The model gpt-9 does not exist or you do not have access to it."


def test_catalogue_model_without_a_route(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        create(client, model="qwen-max")
    assert raised.value.code == "model_not_found"
    message = error_of(raised)["message"]
    assert message == "The model qwen-max does not exist or you do not have access to it."


def test_v1_base_url(v1_client: openai.OpenAI) -> None:
    completion = create(v1_client, max_tokens=8)
    assert completion.choices[0].message.content
    assert completion.usage is not None and completion.usage.completion_tokens > 0
    chunks = stream_chunks(v1_client, max_tokens=8, stream_options={"include_usage": True})
    assert chunks[-1].usage is not None and chunk_text(chunks)
    assert {m.id for m in v1_client.models.list()} >= {MODEL, ALIAS}
    with pytest.raises(openai.BadRequestError):
        create(v1_client, temperature=2.0)


def test_models_list_and_retrieve(client: openai.OpenAI) -> None:
    models = list(client.models.list())
    ids = [m.id for m in models]
    assert MODEL in ids and ALIAS in ids
    assert "qwen-max" not in ids
    assert len(ids) == len(set(ids))
    assert all(m.object == "model" for m in models)
    retrieved = client.models.retrieve(ALIAS)
    assert retrieved.id == ALIAS
    assert retrieved.object == "model"
    assert retrieved.owned_by
    assert isinstance(retrieved.created, int) and retrieved.created > 0
    with pytest.raises(openai.NotFoundError) as raised:
        client.models.retrieve("gpt-9")
    assert raised.value.code == "model_not_found"

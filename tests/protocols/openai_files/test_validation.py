"""Every refusal of the Files and Vector Stores routes, over raw HTTP: OpenAI's error
shape, the status, the `param` it names, and the service never reached."""

from __future__ import annotations

from typing import Any

import pytest

from tests.protocols.openai_files.app import (
    KEY_A,
    MAX_BODY_BYTES,
    MAX_FILE_BYTES,
    PREFIX,
    Harness,
    harness,
)

AUTH = {"Authorization": f"Bearer {KEY_A}"}


@pytest.fixture
def h() -> Harness:
    return harness()


def refused(response: Any, status: int, param: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "request_id"}
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["message"]
    return dict(error)


def post_form(h: Harness, data: dict[str, str], files: Any = None) -> Any:
    """A multipart form, as the SDK sends (text fields as parts without a filename)."""
    parts = [(name, (None, value.encode())) for name, value in data.items()]
    parts += list((files or {}).items())
    return h.http.post(f"{PREFIX}/files", headers=AUTH, files=parts)


# -- authentication and lookups ---------------------------------------------------------


def test_a_missing_key_is_refused_in_openai_shape(h: Harness) -> None:
    response = h.http.get(f"{PREFIX}/files")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Incorrect API key provided."
    assert h.knowledge.calls == []


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/files/file-missing"),
        ("GET", "/files/file-missing/content"),
        ("DELETE", "/files/file-missing"),
        ("GET", "/vector_stores/vs_missing"),
        ("DELETE", "/vector_stores/vs_missing"),
        ("GET", "/vector_stores/vs_missing/files"),
        ("GET", "/vector_stores/vs_missing/file_batches/vsfb_x"),
    ],
)
def test_missing_objects_are_404s(h: Harness, method: str, path: str) -> None:
    response = h.http.request(method, f"{PREFIX}{path}", headers=AUTH)
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert "missing" in error["message"]


# -- uploads ----------------------------------------------------------------------------


def test_an_upload_must_be_a_form(h: Harness) -> None:
    response = h.http.post(f"{PREFIX}/files", headers=AUTH, json={"purpose": "assistants"})
    refused(response, 400, "file")


@pytest.mark.parametrize(
    "data, files, param",
    [
        ({"purpose": "assistants"}, None, "file"),
        ({"purpose": "assistants", "file": "not a file"}, None, "file"),
        ({}, {"file": ("a.txt", b"x")}, "purpose"),
        ({"purpose": ""}, {"file": ("a.txt", b"x")}, "purpose"),
        ({"purpose": "assistants", "colour": "red"}, {"file": ("a.txt", b"x")}, "colour"),
        (
            {"purpose": "assistants", "expires_after[anchor]": "created_at"},
            {"file": ("a.txt", b"x")},
            "expires_after[seconds]",
        ),
        (
            {"purpose": "assistants", "expires_after[seconds]": "3600"},
            {"file": ("a.txt", b"x")},
            "expires_after[anchor]",
        ),
        (
            {
                "purpose": "assistants",
                "expires_after[anchor]": "last_active_at",
                "expires_after[seconds]": "3600",
            },
            {"file": ("a.txt", b"x")},
            "expires_after[anchor]",
        ),
        (
            {
                "purpose": "assistants",
                "expires_after[anchor]": "created_at",
                "expires_after[seconds]": "59",
            },
            {"file": ("a.txt", b"x")},
            "expires_after[seconds]",
        ),
        (
            {
                "purpose": "assistants",
                "expires_after[anchor]": "created_at",
                "expires_after[seconds]": "one hour",
            },
            {"file": ("a.txt", b"x")},
            "expires_after[seconds]",
        ),
    ],
)
def test_upload_fields_are_checked(
    h: Harness, data: dict[str, str], files: Any, param: str
) -> None:
    refused(post_form(h, data, files), 400, param)
    assert "upload" not in h.knowledge.calls


def test_missing_file_message_names_it(h: Harness) -> None:
    error = refused(post_form(h, {"purpose": "assistants"}), 400, "file")
    assert error["message"] == "Missing required parameter: 'file'."


def test_a_purpose_the_service_refuses_is_a_400(h: Harness) -> None:
    refused(post_form(h, {"purpose": "nonsense"}, {"file": ("a.txt", b"x")}), 400, "purpose")


def test_a_file_past_the_limit_is_a_413(h: Harness) -> None:
    exact = post_form(h, {"purpose": "assistants"}, {"file": ("a.bin", b"x" * MAX_FILE_BYTES)})
    assert exact.status_code == 200
    over = b"x" * (MAX_FILE_BYTES + 1)
    refused(post_form(h, {"purpose": "assistants"}, {"file": ("a.bin", over)}), 413, "file")
    assert h.knowledge.calls == ["upload"]


def test_a_declared_length_past_the_limit_is_refused_unread(h: Harness) -> None:
    response = h.http.post(
        f"{PREFIX}/files",
        headers={
            **AUTH,
            "content-type": "multipart/form-data; boundary=x",
            "content-length": str(MAX_FILE_BYTES * 4),
        },
        content=b"--x--\r\n",
    )
    refused(response, 413, "file")


def test_a_broken_form_is_a_400(h: Harness) -> None:
    response = h.http.post(
        f"{PREFIX}/files",
        headers={**AUTH, "content-type": "multipart/form-data"},  # no boundary
        content=b"whatever",
    )
    refused(response, 400, "file")


@pytest.mark.parametrize(
    "query, param",
    [("limit=0", "limit"), ("limit=10001", "limit"), ("order=up", "order")],
)
def test_file_list_parameters_are_checked(h: Harness, query: str, param: str) -> None:
    refused(h.http.get(f"{PREFIX}/files?{query}", headers=AUTH), 400, param)


# -- vector stores ----------------------------------------------------------------------

STATIC = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 50}}


@pytest.mark.parametrize(
    "body, param, words",
    [
        ({"name": "s", "colour": "red"}, "colour", "Unrecognized request argument"),
        ({"name": 5}, "name", "Invalid 'name'"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata", "at most 16"),
        ({"metadata": {"k" * 65: "v"}}, "metadata", "key too long"),
        ({"metadata": {"k": "v" * 513}}, "metadata", "string too long"),
        ({"expires_after": {"anchor": "created_at", "days": 3}}, "expires_after.anchor", ""),
        ({"expires_after": {"anchor": "last_active_at", "days": 0}}, "expires_after.days", ""),
        ({"expires_after": {"anchor": "last_active_at"}}, "expires_after.days", "Missing"),
        ({"file_ids": ["file-a", "file-a"]}, "file_ids", "twice"),
        ({"file_ids": [""]}, "file_ids[0]", ""),
        ({"chunking_strategy": {"type": "semantic"}}, "chunking_strategy.type", "auto, static"),
        ({"chunking_strategy": {"type": "static"}}, "chunking_strategy.static", "Missing"),
        (
            {"chunking_strategy": {"type": "auto", "static": STATIC["static"]}},
            "chunking_strategy.static",
            "",
        ),
        (
            {
                "chunking_strategy": {
                    "type": "static",
                    "static": {"max_chunk_size_tokens": 50, "chunk_overlap_tokens": 0},
                }
            },
            "chunking_strategy.static",
            "between 100 and 4096",
        ),
        (
            {
                "chunking_strategy": {
                    "type": "static",
                    "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 101},
                }
            },
            "chunking_strategy.static",
            "half",
        ),
    ],
)
def test_store_create_is_checked(h: Harness, body: dict[str, Any], param: str, words: str) -> None:
    error = refused(h.http.post(f"{PREFIX}/vector_stores", headers=AUTH, json=body), 400, param)
    assert words in error["message"]
    assert "create_store" not in h.knowledge.calls


@pytest.mark.parametrize(
    "content, words",
    [(b"{not json", "not valid JSON"), (b"[1, 2]", "JSON object")],
)
def test_a_body_must_be_a_json_object(h: Harness, content: bytes, words: str) -> None:
    response = h.http.post(
        f"{PREFIX}/vector_stores",
        headers={**AUTH, "content-type": "application/json"},
        content=content,
    )
    assert words in refused(response, 400, None)["message"]


def test_a_json_body_past_the_limit_is_a_413(h: Harness) -> None:
    body = {"name": "x" * (MAX_BODY_BYTES + 1)}
    response = h.http.post(f"{PREFIX}/vector_stores", headers=AUTH, json=body)
    assert response.status_code == 413


def make_store(h: Harness) -> str:
    response = h.http.post(f"{PREFIX}/vector_stores", headers=AUTH, json={"name": "s"})
    return str(response.json()["id"])


def make_file(h: Harness) -> str:
    response = post_form(h, {"purpose": "assistants"}, {"file": ("a.txt", b"some words")})
    return str(response.json()["id"])


def test_store_update_is_checked(h: Harness) -> None:
    store = make_store(h)
    body = {"expires_after": {"anchor": "last_active_at", "days": 366}}
    response = h.http.post(f"{PREFIX}/vector_stores/{store}", headers=AUTH, json=body)
    refused(response, 400, "expires_after.days")
    response = h.http.post(f"{PREFIX}/vector_stores/{store}", headers=AUTH, json={"file_ids": []})
    refused(response, 400, "file_ids")
    assert "update_store" not in h.knowledge.calls


@pytest.mark.parametrize(
    "query, param",
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("order=sideways", "order"),
        ("limit=ten", "limit"),
    ],
)
def test_store_list_parameters_are_checked(h: Harness, query: str, param: str) -> None:
    refused(h.http.get(f"{PREFIX}/vector_stores?{query}", headers=AUTH), 400, param)


@pytest.mark.parametrize(
    "body, param, words",
    [
        ({}, "file_id", "Missing required parameter: 'file_id'"),
        ({"file_id": "f", "attributes": {f"k{i}": 1 for i in range(17)}}, "attributes", "16"),
        ({"file_id": "f", "attributes": {"k" * 65: 1}}, "attributes", "key too long"),
        ({"file_id": "f", "attributes": {"k": "v" * 513}}, "attributes.k", "string too long"),
        ({"file_id": "f", "attributes": {"k": {"nested": 1}}}, "attributes.k", ""),
        ({"file_id": "f", "attributes": {"k": [1]}}, "attributes.k", ""),
        ({"file_id": "f", "chunking_strategy": {"type": "static"}}, "chunking_strategy.static", ""),
    ],
)
def test_attaching_a_file_is_checked(
    h: Harness, body: dict[str, Any], param: str, words: str
) -> None:
    store = make_store(h)
    response = h.http.post(f"{PREFIX}/vector_stores/{store}/files", headers=AUTH, json=body)
    assert words in refused(response, 400, param)["message"]
    assert "add_file" not in h.knowledge.calls


def test_updating_attributes_needs_them(h: Harness) -> None:
    store, file = make_store(h), make_file(h)
    h.http.post(f"{PREFIX}/vector_stores/{store}/files", headers=AUTH, json={"file_id": file})
    path = f"{PREFIX}/vector_stores/{store}/files/{file}"
    refused(h.http.post(path, headers=AUTH, json={}), 400, "attributes")
    long = {"attributes": {"k": "v" * 513}}
    refused(h.http.post(path, headers=AUTH, json=long), 400, "attributes.k")
    assert "update_store_file" not in h.knowledge.calls


@pytest.mark.parametrize(
    "query, param", [("filter=done", "filter"), ("limit=101", "limit"), ("order=x", "order")]
)
def test_store_file_list_parameters_are_checked(h: Harness, query: str, param: str) -> None:
    store = make_store(h)
    response = h.http.get(f"{PREFIX}/vector_stores/{store}/files?{query}", headers=AUTH)
    refused(response, 400, param)


@pytest.mark.parametrize(
    "body, param",
    [
        ({}, "file_ids"),
        ({"file_ids": []}, "file_ids"),
        ({"files": []}, "file_ids"),
        ({"file_ids": ["a"], "files": [{"file_id": "b"}]}, "files"),
        ({"file_ids": ["a", "a"]}, "file_ids"),
        ({"files": [{"file_id": "a"}, {"file_id": "a"}]}, "files"),
        ({"files": [{"file_id": "a"}], "attributes": {"k": 1}}, "attributes"),
        ({"files": [{"file_id": "a"}], "chunking_strategy": {"type": "auto"}}, "chunking_strategy"),
        ({"files": [{"file_id": "a", "colour": 1}]}, "files[0].colour"),
        ({"files": [{"file_id": "a", "attributes": {"k": "v" * 513}}]}, "files[0].attributes.k"),
        (
            {"files": [{"file_id": "a"}, {"file_id": "b", "chunking_strategy": STATIC}]},
            "files[1].chunking_strategy",
        ),
        (
            {"files": [{"file_id": "a", "chunking_strategy": {"type": "static"}}]},
            "files[0].chunking_strategy.static",
        ),
    ],
)
def test_file_batches_are_checked(h: Harness, body: dict[str, Any], param: str) -> None:
    store = make_store(h)
    response = h.http.post(f"{PREFIX}/vector_stores/{store}/file_batches", headers=AUTH, json=body)
    refused(response, 400, param)
    assert "create_batch" not in h.knowledge.calls


def test_per_file_chunking_that_agrees_is_honoured(h: Harness) -> None:
    store, a, b = make_store(h), make_file(h), make_file(h)
    body = {"files": [{"file_id": a, "chunking_strategy": STATIC}, {"file_id": b, **{}}]}
    body["files"][1]["chunking_strategy"] = STATIC
    response = h.http.post(f"{PREFIX}/vector_stores/{store}/file_batches", headers=AUTH, json=body)
    assert response.status_code == 200, response.text
    listed = h.http.get(f"{PREFIX}/vector_stores/{store}/files", headers=AUTH).json()["data"]
    assert {f["chunking_strategy"]["static"]["max_chunk_size_tokens"] for f in listed} == {100}


@pytest.mark.parametrize(
    "body, param, words",
    [
        ({}, "query", "Missing required parameter: 'query'"),
        ({"query": ""}, "query", "empty"),
        ({"query": []}, "query", "at least one"),
        ({"query": ["ok", " "]}, "query[1]", "empty"),
        ({"query": 5}, "query", ""),
        ({"query": "q", "rewrite_query": True}, "rewrite_query", "cannot rewrite"),
        ({"query": "q", "max_num_results": 0}, "max_num_results", "between 1 and 50"),
        ({"query": "q", "max_num_results": 51}, "max_num_results", "between 1 and 50"),
        ({"query": "q", "ranking_options": {"ranker": "none"}}, "ranking_options.ranker", ""),
        (
            {"query": "q", "ranking_options": {"score_threshold": 1.5}},
            "ranking_options.score_threshold",
            "between 0 and 1",
        ),
        ({"query": "q", "ranking_options": {"hybrid": 1}}, "ranking_options.hybrid", ""),
        ({"query": "q", "filters": {"type": "like", "key": "k", "value": 1}}, "filters.type", ""),
        ({"query": "q", "filters": {"type": ["eq"], "key": "k", "value": 1}}, "filters.type", ""),
        ({"query": "q", "filters": {"key": "k", "value": 1}}, "filters.type", ""),
        ({"query": "q", "filters": [{"type": "eq"}]}, "filters", ""),
        ({"query": "q", "filters": {"type": "eq", "value": 1}}, "filters.key", "Missing"),
        ({"query": "q", "filters": {"type": "eq", "key": "", "value": 1}}, "filters.key", ""),
        ({"query": "q", "filters": {"type": "eq", "key": "k"}}, "filters.value", "Missing"),
        ({"query": "q", "filters": {"type": "eq", "key": "k", "value": [1]}}, "filters.value", ""),
        ({"query": "q", "filters": {"type": "in", "key": "k", "value": []}}, "filters.value", ""),
        (
            {"query": "q", "filters": {"type": "eq", "key": "k", "value": {"a": 1}}},
            "filters.value",
            "",
        ),
        (
            {"query": "q", "filters": {"type": "eq", "key": "k", "value": 1, "x": 2}},
            "filters.x",
            "",
        ),
        ({"query": "q", "filters": {"type": "and", "filters": []}}, "filters.filters", ""),
        (
            {
                "query": "q",
                "filters": {
                    "type": "and",
                    "filters": [
                        {"type": "eq", "key": "a", "value": 1},
                        {"type": "or", "filters": [{"type": "gt", "key": "b"}]},
                    ],
                },
            },
            "filters.filters[1].filters[0].value",
            "",
        ),
    ],
)
def test_search_is_checked(h: Harness, body: dict[str, Any], param: str, words: str) -> None:
    store = make_store(h)
    response = h.http.post(f"{PREFIX}/vector_stores/{store}/search", headers=AUTH, json=body)
    assert words in refused(response, 400, param)["message"]
    assert "search" not in h.knowledge.calls


def _nested(depth: int) -> dict[str, Any]:
    nested: dict[str, Any] = {"type": "eq", "key": "k", "value": 1}
    for _ in range(depth - 1):
        nested = {"type": "and", "filters": [nested]}
    return nested


def _wide(comparisons: int) -> dict[str, Any]:
    terms = [{"type": "eq", "key": "k", "value": n} for n in range(comparisons)]
    return {"type": "or", "filters": terms}


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        ({"query": ["q"] * 11}, "query", "at most 10 queries"),
        ({"query": "q" * 4097}, "query", "maximum length 4096"),
        ({"query": ["q", "q" * 4097]}, "query[1]", "maximum length 4096"),
        ({"query": "q", "filters": _nested(9)}, "filters" + ".filters[0]" * 8, "at most 8 deep"),
        ({"query": "q", "filters": _wide(65)}, "filters", "at most 64 comparisons"),
        (
            {"query": "q", "filters": {"type": "in", "key": "k", "value": list(range(257))}},
            "filters",
            "at most 256 values",
        ),
    ],
)
def test_a_search_too_large_to_run_is_refused(
    h: Harness, body: dict[str, Any], param: str, words: str
) -> None:
    store = make_store(h)
    response = h.http.post(f"{PREFIX}/vector_stores/{store}/search", headers=AUTH, json=body)
    assert words in refused(response, 400, param)["message"]
    assert "search" not in h.knowledge.calls


def test_a_filter_nested_past_python_s_recursion_is_a_400(h: Harness) -> None:
    # written out by hand: JSON encoders refuse to nest this deep themselves; the body
    # reader refuses it before the filter is parsed
    depth = 700
    filters = '{"type":"and","filters":[' * depth + '{"type":"eq","key":"k","value":1}'
    body = '{"query":"q","filters":' + filters + "]}" * depth + "}"
    store = make_store(h)
    response = h.http.post(
        f"{PREFIX}/vector_stores/{store}/search",
        headers={**AUTH, "Content-Type": "application/json"},
        content=body,
    )
    assert "nested too deeply" in refused(response, 400, None)["message"]
    assert "search" not in h.knowledge.calls


def test_the_largest_search_allowed_runs(h: Harness) -> None:
    store = make_store(h)
    for body in (
        {"query": ["q"] * 10, "filters": _nested(8)},
        {"query": ["q" * 4096] * 2},
    ):
        response = h.http.post(f"{PREFIX}/vector_stores/{store}/search", headers=AUTH, json=body)
        assert response.status_code == 200, response.text
    body = {"query": "q", "filters": _wide(64)}
    response = h.http.post(f"{PREFIX}/vector_stores/{store}/search", headers=AUTH, json=body)
    assert response.status_code == 200, response.text


def test_rewrite_query_false_is_fine(h: Harness) -> None:
    store = make_store(h)
    body = {"query": "q", "rewrite_query": False, "ranking_options": {"ranker": "auto"}}
    response = h.http.post(f"{PREFIX}/vector_stores/{store}/search", headers=AUTH, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["data"] == []

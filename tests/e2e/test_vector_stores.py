"""Files, vector stores and file_search in a real server, driven by the official SDK's own
helpers: upload and poll until the file is searchable, search, then answer with the
file_search tool; on SQLite and on PostgreSQL (with pgvector), with the real local
embedding model.

The answering model is the scripted echo backend, which calls the offered tool (with no
query of its own, so the user's question is searched) and then says what the tool
returned: it shows that the call's results come from the uploaded document and reach
the model, which the 135M embedded model could not show reliably."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.e2e.conftest import CONFIG, SCRIPTED, Server, openai_sdk, serving

PG_URL = os.environ.get("OPENSCOPE_TEST_DATABASE_URL")
NEEDS_POSTGRESQL = "needs a PostgreSQL with pgvector: set OPENSCOPE_TEST_DATABASE_URL"
ADMIN_KEY = f"sk-admin-{secrets.token_hex(8)}"

LIGHTHOUSE = """# The Varnholm lighthouse

The Varnholm lighthouse stands on the northern cape of Ostervik island. Its lamp was
first lit in 1887 by the keeper Ingrid Solberg. The light flashes white twice every
fifteen seconds and can be seen from 22 nautical miles away. Visitors may climb the
143 steps of the tower on Saturdays between May and September.
"""
BAKERY = """# Morning routine at the Fennick bakery

Dough for the rye loaves is mixed at four in the morning and rests for three hours.
The ovens are heated with beech wood. Cinnamon buns are glazed with a syrup of brown
sugar and cardamom, and the first customers arrive at seven.
"""
QUESTION = "When was the lamp of the Varnholm lighthouse first lit?"


def _params() -> list[object]:
    return [
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason=NEEDS_POSTGRESQL)),
    ]


@pytest.fixture(scope="module", params=_params())
def knowing(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp(f"vector-stores-{request.param}")
    env = {"OPENSCOPE_ADMIN_KEY": ADMIN_KEY}
    if request.param == "postgresql" and PG_URL:
        env |= {"OPENSCOPE_DATABASE_URL": PG_URL, "OPENSCOPE_KEY_PEPPER": "e2e-pepper"}
    with serving(workdir, config=CONFIG, env=env) as server:
        yield server


def _documents(tmp_path: Path) -> tuple[Path, Path]:
    lighthouse = tmp_path / "lighthouse.md"
    lighthouse.write_text(LIGHTHOUSE)
    bakery = tmp_path / "bakery.txt"
    bakery.write_text(BAKERY)
    return lighthouse, bakery


def test_upload_search_and_answer_with_the_sdk_helpers(knowing: Server, tmp_path: Path) -> None:
    client = openai_sdk(knowing)
    lighthouse, bakery = _documents(tmp_path)
    store = client.vector_stores.create(name="island notes")
    assert store.object == "vector_store"
    with lighthouse.open("rb") as one, bakery.open("rb") as two:
        batch = client.vector_stores.file_batches.upload_and_poll(
            vector_store_id=store.id, files=[one, two], poll_interval_ms=100
        )
    assert batch.status == "completed"
    assert batch.file_counts.completed == 2
    files = client.vector_stores.files.list(vector_store_id=store.id)
    assert {f.status for f in files.data} == {"completed"}
    assert client.vector_stores.retrieve(store.id).file_counts.completed == 2

    found = client.vector_stores.search(vector_store_id=store.id, query=QUESTION)
    hits = list(found)
    assert hits[0].filename == "lighthouse.md"
    assert 0 < hits[0].score <= 1
    assert "1887" in hits[0].content[0].text

    response = client.responses.create(
        model=SCRIPTED,
        input=QUESTION,
        tools=[{"type": "file_search", "vector_store_ids": [store.id]}],
    )
    call = response.output[0]
    assert call.type == "file_search_call"
    assert call.status == "completed"
    assert call.queries == [QUESTION]  # the model wrote none: the question was searched
    assert call.results is not None
    assert call.results[0].filename == "lighthouse.md"
    assert "1887" in call.results[0].text
    # the model's next turn read the results
    assert "1887" in response.output_text
    assert response.usage is not None
    assert response.usage.model_dump()["x_tools"] == {"file_search": {"count": 1}}


def test_upload_and_poll_one_file_then_stream_the_search(knowing: Server, tmp_path: Path) -> None:
    client = openai_sdk(knowing)
    lighthouse, _ = _documents(tmp_path)
    store = client.vector_stores.create(name="one file")
    with lighthouse.open("rb") as handle:
        attached = client.vector_stores.files.upload_and_poll(
            vector_store_id=store.id, file=handle, poll_interval_ms=100
        )
    assert attached.status == "completed"
    uploaded = client.files.retrieve(attached.id)
    assert uploaded.filename == "lighthouse.md"
    assert client.files.content(attached.id).read() == LIGHTHOUSE.encode()

    with client.responses.stream(
        model=SCRIPTED,
        input=QUESTION,
        tools=[{"type": "file_search", "vector_store_ids": [store.id]}],
    ) as stream:
        events = list(stream)
    types = [e.type for e in events]
    added = types.index("response.output_item.added")
    assert events[added].item.type == "file_search_call"  # type: ignore[union-attr]
    progress = [
        types.index("response.file_search_call.in_progress"),
        types.index("response.file_search_call.searching"),
        types.index("response.file_search_call.completed"),
    ]
    assert (
        added < progress[0] < progress[1] < progress[2] < types.index("response.output_item.done")
    )
    final = stream.get_final_response()
    assert final.output[0].results[0].filename == "lighthouse.md"  # type: ignore[union-attr]


def test_another_workspace_never_sees_the_store(knowing: Server, tmp_path: Path) -> None:
    client = openai_sdk(knowing)
    lighthouse, _ = _documents(tmp_path)
    store = client.vector_stores.create(name="private")
    with lighthouse.open("rb") as handle:
        attached = client.vector_stores.files.upload_and_poll(
            vector_store_id=store.id, file=handle, poll_interval_ms=100
        )
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    team = f"team-{secrets.token_hex(4)}"
    made = httpx.post(f"{knowing.root_url}/admin/v1/workspaces", json={"id": team}, headers=admin)
    assert made.status_code == 200, made.text
    key = httpx.post(
        f"{knowing.root_url}/admin/v1/keys",
        json={"name": "other team", "workspace_id": team},
        headers=admin,
    )
    assert key.status_code == 200, key.text
    other = openai.OpenAI(
        base_url=knowing.base_url, api_key=key.json()["value"], max_retries=0, timeout=60.0
    )
    with pytest.raises(openai.NotFoundError):
        other.vector_stores.retrieve(store.id)
    with pytest.raises(openai.NotFoundError):
        other.vector_stores.search(vector_store_id=store.id, query=QUESTION)
    with pytest.raises(openai.NotFoundError):
        other.files.retrieve(attached.id)
    # nor can its requests search it with file_search
    with pytest.raises(openai.NotFoundError):
        other.responses.create(
            model=SCRIPTED,
            input=QUESTION,
            tools=[{"type": "file_search", "vector_store_ids": [store.id]}],
        )
    assert other.vector_stores.list().data == []


def test_files_stores_and_index_outlive_the_process(tmp_path: Path) -> None:
    """What one server process took in, the next one finds and searches (a file whose
    ingestion the stop interrupted is finished then: the worker's lease is tested in
    tests/engine/knowledge)."""
    lighthouse, _ = _documents(tmp_path)
    api_key = f"sk-e2e-{secrets.token_hex(12)}"
    with serving(tmp_path, api_key=api_key, log_name="server-1.log") as server:
        client = openai_sdk(server)
        store = client.vector_stores.create(name="restart")
        uploaded = client.files.create(file=lighthouse.open("rb"), purpose="assistants")
        client.vector_stores.files.create(vector_store_id=store.id, file_id=uploaded.id)
    with serving(tmp_path, api_key=api_key, log_name="server-2.log") as server:
        client = openai_sdk(server)
        deadline = time.monotonic() + 60
        status = "in_progress"
        while status == "in_progress" and time.monotonic() < deadline:
            status = client.vector_stores.files.retrieve(
                uploaded.id, vector_store_id=store.id
            ).status
            time.sleep(0.1)
        assert status == "completed"
        hits = list(client.vector_stores.search(vector_store_id=store.id, query=QUESTION))
        assert hits[0].filename == "lighthouse.md"

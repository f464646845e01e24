"""web_search_image run by openscope itself on the embedded model: a local index holding
images (a Markdown page's images and JSONL image records), the model forced to call the
lone tool, and the `web_search_image_call` item the official openai SDK reads back, with
its JSON-string `arguments` and `output` and `usage.x_tools.web_search_image`."""

from __future__ import annotations

import json
from collections.abc import Iterator

import orjson
import pytest

from tests.e2e.conftest import ALIAS, CONFIG, MODEL, Server, openai_sdk, serving

LIGHTHOUSE_MD = """---
title: The Bell Rock Lighthouse
url: https://example.org/bell-rock/
---
# The Bell Rock Lighthouse

![The Bell Rock Lighthouse at sea](bell-rock.jpg)

![The lighthouse lamp room](https://img.example.org/lamp-room.png)
"""
RECORDS = [
    {
        "image_url": "https://img.example.org/lighthouse-storm.jpg",
        "title": "A lighthouse in a storm",
    },
    {"image_url": "https://img.example.org/green-tea.jpg", "title": "A cup of green tea"},
]
KNOWN = {
    "https://example.org/bell-rock/bell-rock.jpg",
    "https://img.example.org/lamp-room.png",
    "https://img.example.org/lighthouse-storm.jpg",
    "https://img.example.org/green-tea.jpg",
}


@pytest.fixture(scope="module")
def searching(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("image-search")
    corpus = workdir / "corpus"
    corpus.mkdir()
    (corpus / "lighthouse.md").write_text(LIGHTHOUSE_MD)
    (corpus / "images.jsonl").write_text(
        "".join(orjson.dumps(record).decode() + "\n" for record in RECORDS)
    )
    config = CONFIG + f'\n[tools.web_search]\nprovider = "local"\nsource = "{corpus}"\n'
    with serving(workdir, config=config, alias=f"{ALIAS}={MODEL}") as server:
        yield server


def test_responses_web_search_image_call_lists_the_images(searching: Server) -> None:
    client = openai_sdk(searching)
    response = client.responses.create(
        model=ALIAS,
        input="Show me pictures of a lighthouse.",
        tools=[{"type": "web_search_image"}],  # type: ignore[list-item]
        tool_choice="required",
        max_output_tokens=160,
        temperature=0,
    )
    kinds = [item.type for item in response.output]
    assert kinds[0] == "web_search_image_call", kinds
    assert kinds[-1] == "message"
    call = response.output[0].model_dump(exclude_none=True)
    assert call["status"] == "completed", (call["arguments"], call["output"])
    assert call["name"] == "web_search_image"
    # the forced call follows the function's schema: one or more query strings
    queries = json.loads(call["arguments"])["queries"]
    assert queries and all(isinstance(query, str) and query for query in queries)
    # output is a JSON string of [{title, url, index}], numbered from 1, from the index
    listed = json.loads(call["output"])
    assert [image["index"] for image in listed] == list(range(1, len(listed) + 1))
    assert all(set(image) == {"title", "url", "index"} for image in listed)
    assert {image["url"] for image in listed} <= KNOWN
    assert response.usage is not None
    assert response.usage.model_dump()["x_tools"] == {"web_search_image": {"count": 1}}
    stored = client.responses.retrieve(response.id)
    assert stored.output[0].model_dump(exclude_none=True) == call

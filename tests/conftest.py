"""Shared fixtures: an app over the scripted backend, with the models routed to it."""

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from openscope.backends.scripted import ScriptedBackend
from openscope.server import create_app
from openscope.server.embeddings import ServedEmbedder
from openscope.settings import Settings

API_KEY = "sk-test"

AppFactory = Callable[..., TestClient]


@pytest.fixture
def scripted_client(tmp_path: Path) -> Iterator[AppFactory]:
    """Build a TestClient over a scripted backend: `factory(backend=..., **settings)`;
    `embedders` replaces the embedding models the settings describe."""
    clients: list[TestClient] = []

    def factory(
        backend: ScriptedBackend | None = None,
        embedders: Mapping[str, ServedEmbedder] | None = None,
        **fields: object,
    ) -> TestClient:
        settings = Settings.model_validate(
            {
                "api_keys": [API_KEY],
                "data_dir": str(tmp_path / "data"),
                "backends": {"scripted": {"type": "scripted"}},
                "routes": {"smollm2-135m-instruct": "scripted"},
                "aliases": {"qwen-plus": "smollm2-135m-instruct"},
                **fields,
            }
        )
        app = create_app(
            settings, backends={"scripted": backend or ScriptedBackend()}, embedders=embedders
        )
        client = TestClient(app, headers={"Authorization": f"Bearer {API_KEY}"})
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)

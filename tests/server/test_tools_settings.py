"""The `[tools]` settings (off by default, each value checked) and the runners
`build_tool_runners` makes from them, with their expiry chore and their closing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from openscope.core.builtin_tools import BuiltinToolKind, CodeInterpreter, WebSearch
from openscope.core.tool_runner import ToolContext
from openscope.server.tools import build_tool_runners, close_tool_runners, expire_idle_tools
from openscope.settings import Settings, SettingsError, load_settings
from openscope.tools.code_interpreter import CodeInterpreterRunner
from openscope.tools.web_extractor import WebExtractorRunner
from openscope.tools.web_search import LocalIndexProvider, SearxngProvider, WebSearchRunner
from tests.tools.code_interpreter.conftest import requires_bwrap

CONTEXT = ToolContext(request_id="req_1", workspace="default")
CORPUS = [
    {"url": "https://tides.example/fundy", "title": "Fundy tides", "content": "Tidal turbines."},
    {"url": "https://wind.example/", "title": "Wind", "content": "Wind farms offshore."},
]


def settings(tmp_path: Path, toml: str) -> Settings:
    config = tmp_path / "openscope.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n' + toml)
    return load_settings(config)


def test_every_tool_is_off_by_default(tmp_path: Path) -> None:
    loaded = load_settings()
    assert loaded.tools.web_search is None
    assert not loaded.tools.web_extractor.enabled
    assert not loaded.tools.code_interpreter.enabled
    assert build_tool_runners(loaded) == {}


def test_a_full_tools_table_is_read(tmp_path: Path) -> None:
    loaded = settings(
        tmp_path,
        "[tools.web_search]\n"
        'provider = "searxng"\nurl = "http://searxng:8080"\ntimeout_seconds = 5\n'
        "[tools.web_extractor]\n"
        'enabled = true\nallow_networks = ["10.1.2.0/24", "::1"]\nmax_urls = 3\n'
        "[tools.code_interpreter]\n"
        'enabled = true\nroot_dir = "/srv/ci"\ntimeout_seconds = 30\nmemory_mb = 2048\n',
    )
    tools = loaded.tools
    assert tools.web_search is not None
    assert (tools.web_search.provider, tools.web_search.url) == ("searxng", "http://searxng:8080")
    assert tools.web_search.timeout_seconds == 5
    assert tools.web_extractor.allow_networks == ["10.1.2.0/24", "::1"]
    assert tools.web_extractor.max_urls == 3
    assert tools.code_interpreter.root_dir == Path("/srv/ci")
    assert (tools.code_interpreter.timeout_seconds, tools.code_interpreter.memory_mb) == (30, 2048)


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ('[tools.web_search]\nprovider = "google"\n', "tools.web_search.provider"),
        ('[tools.web_search]\nprovider = "searxng"\n', "provider 'searxng' needs url"),
        ('[tools.web_search]\nprovider = "searxng"\nurl = "searxng:8080"\n', "url"),
        (
            '[tools.web_search]\nprovider = "searxng"\nurl = "http://s"\nindex = "i.db"\n',
            "index and source are for provider 'local'",
        ),
        ('[tools.web_search]\nprovider = "local"\n', "provider 'local' needs index"),
        (
            '[tools.web_search]\nprovider = "local"\nindex = "i.db"\nurl = "http://s"\n',
            "url is for provider 'searxng'",
        ),
        (
            '[tools.web_search]\nprovider = "searxng"\nurl = "http://s"\ntimeout_seconds = 0\n',
            "timeout_seconds",
        ),
        ("[tools.web_extractor]\nenabled = true\n", "needs tools.web_search configured too"),
        (
            '[tools.web_extractor]\nallow_networks = ["10.0.0.1/8"]\n',
            "'10.0.0.1/8' is not an address or network",
        ),
        ('[tools.web_extractor]\nallow_networks = ["intranet"]\n', "'intranet' is not"),
        ("[tools.web_extractor]\nmax_urls = 0\n", "max_urls"),
        ("[tools.web_extractor]\nmax_output_chars = 5000\n", "at least 12000"),
        ("[tools.code_interpreter]\nmemory_mb = 16\n", "memory_mb"),
        ("[tools.code_interpreter]\ntimeout_seconds = -1\n", "timeout_seconds"),
        ("[tools.code_interpreter]\nnetwork = true\n", "network"),
        ("[tools.code_interpreter]\nmax_containers_per_workspace = 0\n", "per_workspace"),
        ("[tools]\nfile_search = {}\n", "file_search"),
    ],
)
def test_bad_values_are_refused_naming_them(tmp_path: Path, toml: str, named: str) -> None:
    with pytest.raises(SettingsError, match="invalid settings") as refused:
        settings(tmp_path, toml)
    assert named in str(refused.value)


async def test_searxng_search_with_extractor_and_code_interpreter(tmp_path: Path) -> None:
    loaded = settings(
        tmp_path,
        '[tools.web_search]\nprovider = "searxng"\nurl = "http://127.0.0.1:9"\n'
        "timeout_seconds = 2\n"
        '[tools.web_extractor]\nenabled = true\nallow_networks = ["127.0.0.1"]\nmax_urls = 2\n'
        "[tools.code_interpreter]\nenabled = true\nmax_containers = 3\nmemory_mb = 512\n",
    )
    runners = build_tool_runners(loaded)
    try:
        assert set(runners) == {
            BuiltinToolKind.WEB_SEARCH,
            BuiltinToolKind.WEB_SEARCH_IMAGE,  # SearXNG has image results
            BuiltinToolKind.IMAGE_SEARCH,  # so image_search can search what the model sees
            BuiltinToolKind.WEB_EXTRACTOR,
            BuiltinToolKind.CODE_INTERPRETER,
        }
        search = runners[BuiltinToolKind.WEB_SEARCH]
        assert isinstance(search, WebSearchRunner)
        assert isinstance(search.provider, SearxngProvider)
        extractor = runners[BuiltinToolKind.WEB_EXTRACTOR]
        assert isinstance(extractor, WebExtractorRunner)
        policy = extractor.extractor.fetcher.policy
        assert [str(n) for n in policy.allow] == ["127.0.0.1/32"]
        assert extractor.extractor.limits.max_urls == 2
        code = runners[BuiltinToolKind.CODE_INTERPRETER]
        assert isinstance(code, CodeInterpreterRunner)
        sandbox = code.containers.policy
        assert (sandbox.max_containers, sandbox.memory_bytes) == (3, 512 << 20)
        instances = tmp_path / "data" / "code_interpreter" / "instances"
        assert code.containers.instance_dir.parent == instances
        # nothing listens on port 9: the search fails as a tool result, not an exception
        outcome = await search.run(WebSearch(), {"query": "tides"}, CONTEXT)
        assert outcome.status == "failed"
        assert outcome.for_model.startswith("The web search failed: ")
    finally:
        await close_tool_runners(runners)


async def test_a_local_index_is_built_from_its_source_at_start(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(doc) + "\n" for doc in CORPUS))
    loaded = settings(tmp_path, f'[tools.web_search]\nprovider = "local"\nsource = "{corpus}"\n')
    runners = build_tool_runners(loaded)
    assert set(runners) == {
        BuiltinToolKind.WEB_SEARCH,
        BuiltinToolKind.WEB_SEARCH_IMAGE,
        BuiltinToolKind.IMAGE_SEARCH,
    }
    search = runners[BuiltinToolKind.WEB_SEARCH]
    assert isinstance(search, WebSearchRunner)
    assert isinstance(search.provider, LocalIndexProvider)
    assert (tmp_path / "data" / "web_search_index.sqlite3").is_file()
    outcome = await search.run(WebSearch(), {"query": "turbines"}, CONTEXT)
    assert outcome.status == "completed"
    sources = json.loads(outcome.output)["action"]["sources"]
    assert sources == [{"type": "url", "url": "https://tides.example/fundy"}]
    await close_tool_runners(runners)


def test_a_missing_source_is_a_settings_error(tmp_path: Path) -> None:
    loaded = settings(
        tmp_path, f'[tools.web_search]\nprovider = "local"\nsource = "{tmp_path / "none"}"\n'
    )
    with pytest.raises(SettingsError, match=r"tools\.web_search: cannot build the index"):
        build_tool_runners(loaded)


async def test_a_local_index_without_source_is_used_as_it_is(tmp_path: Path) -> None:
    index = tmp_path / "prebuilt.sqlite3"
    loaded = settings(tmp_path, f'[tools.web_search]\nprovider = "local"\nindex = "{index}"\n')
    runners = build_tool_runners(loaded)
    search = runners[BuiltinToolKind.WEB_SEARCH]
    outcome = await search.run(WebSearch(), {"query": "turbines"}, CONTEXT)
    # never built: every search says so, the server still starts
    assert outcome.status == "failed"
    assert "no local search index at" in outcome.for_model


@requires_bwrap
async def test_the_expiry_chore_and_closing_reach_the_containers(tmp_path: Path) -> None:
    loaded = settings(
        tmp_path,
        f'[tools.code_interpreter]\nenabled = true\nroot_dir = "{tmp_path / "ci"}"\n'
        "idle_seconds = 0.05\nmemory_mb = 768\n",
    )
    runners = build_tool_runners(loaded)
    code = runners[BuiltinToolKind.CODE_INTERPRETER]
    assert isinstance(code, CodeInterpreterRunner)
    outcome = await code.run(CodeInterpreter(), {"code": "print(1)"}, CONTEXT)
    assert outcome.for_model == "1"
    container_id = json.loads(outcome.output)["container_id"]
    await asyncio.sleep(0.1)
    await expire_idle_tools(runners)
    assert container_id not in code.containers
    kept = await code.containers.create()
    instance_dir = code.containers.instance_dir
    assert (instance_dir / "containers" / kept).is_dir()
    await close_tool_runners(runners)
    assert kept not in code.containers
    assert not instance_dir.exists()


async def test_closing_goes_on_past_a_runner_that_fails(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        kind = BuiltinToolKind.WEB_SEARCH

        def function(self, spec: Any) -> Any: ...

        async def run(self, spec: Any, arguments: Any, context: Any) -> Any: ...

        async def aclose(self) -> None:
            raise OSError("boom")

    loaded = settings(tmp_path, "[tools.code_interpreter]\nenabled = true\n")
    runners: dict[BuiltinToolKind, Any] = {BuiltinToolKind.WEB_SEARCH: Broken()}
    runners |= build_tool_runners(loaded)
    code = runners[BuiltinToolKind.CODE_INTERPRETER]
    container_id = await code.containers.create()
    await close_tool_runners(runners)
    assert "closing the web_search tool failed" in caplog.text
    assert container_id not in code.containers


def test_the_loop_s_timeout_must_exceed_a_code_cell_s(tmp_path: Path) -> None:
    config = tmp_path / "openscope.toml"
    config.write_text(
        "[tools]\ntool_timeout_seconds = 60\n[tools.code_interpreter]\nenabled = true\n"
        "timeout_seconds = 60\n"
    )
    with pytest.raises(SettingsError, match="tool_timeout_seconds"):
        load_settings(config)

"""The built-in catalogue data: every model the seed documents name, with the documented
per-model defaults and sane limits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from openscope.core.catalog.catalog import Catalog
from openscope.core.catalog.models import BUILTIN_MODELS
from openscope.core.catalog.spec import ThinkingMode

# Every concrete model name written in the seed documents (chat guide, Anthropic and Responses
# model lists, chat reference, parameter reference), extracted with
# grep -ohE '\b(qwen|qwq|qvq|deepseek)[a-z0-9.\-]*[a-z0-9]' and deduplicated.
SEED_NAMES = (
    "deepseek-v3.2", "deepseek-v4-flash", "deepseek-v4-pro", "qwen-coder-plus",
    "qwen-coder-plus-2024-11-06", "qwen-coder-plus-latest", "qwen-coder-turbo",
    "qwen-coder-turbo-2024-09-19", "qwen-coder-turbo-latest", "qwen-flash",
    "qwen-flash-2025-07-28", "qwen-flash-2025-07-28-us", "qwen-flash-us", "qwen-math-plus",
    "qwen-math-plus-2024-08-16", "qwen-math-plus-latest", "qwen-math-turbo",
    "qwen-math-turbo-2024-09-19", "qwen-math-turbo-latest", "qwen-max", "qwen-max-2024-09-19",
    "qwen-max-2025-01-25", "qwen-max-latest", "qwen-plus", "qwen-plus-2024-12-20",
    "qwen-plus-2025-01-25", "qwen-plus-2025-09-11", "qwen-plus-2025-12-01-us", "qwen-plus-latest",
    "qwen-plus-us", "qwen-turbo", "qwen-turbo-2024-11-01", "qwen-turbo-2025-04-28",
    "qwen-turbo-latest", "qwen-vl-max", "qwen-vl-max-2025-08-13", "qwen-vl-max-latest",
    "qwen-vl-plus", "qwen-vl-plus-2025-01-25", "qwen-vl-plus-2025-07-10",
    "qwen-vl-plus-2025-08-15", "qwen-vl-plus-latest", "qwen2.5-0.5b-instruct",
    "qwen2.5-1.5b-instruct", "qwen2.5-14b-instruct", "qwen2.5-14b-instruct-1m",
    "qwen2.5-32b-instruct", "qwen2.5-3b-instruct", "qwen2.5-72b-instruct", "qwen2.5-7b-instruct",
    "qwen2.5-7b-instruct-1m", "qwen2.5-omni-7b", "qwen3-0.6b", "qwen3-1.7b", "qwen3-14b",
    "qwen3-235b-a22b", "qwen3-235b-a22b-instruct-2507", "qwen3-235b-a22b-thinking-2507",
    "qwen3-30b-a3b", "qwen3-30b-a3b-instruct-2507", "qwen3-30b-a3b-thinking-2507", "qwen3-32b",
    "qwen3-4b", "qwen3-8b", "qwen3-coder-flash", "qwen3-coder-flash-2025-07-28",
    "qwen3-coder-next", "qwen3-coder-plus", "qwen3-coder-plus-2025-07-22",
    "qwen3-coder-plus-2025-09-23", "qwen3-max", "qwen3-max-2025-09-23", "qwen3-max-2026-01-23",
    "qwen3-max-preview", "qwen3-next-80b-a3b-instruct", "qwen3-next-80b-a3b-thinking",
    "qwen3-vl-flash", "qwen3-vl-plus", "qwen3.5-122b-a10b", "qwen3.5-27b", "qwen3.5-35b-a3b",
    "qwen3.5-397b-a17b", "qwen3.5-flash", "qwen3.5-flash-2026-02-23", "qwen3.5-plus",
    "qwen3.5-plus-2026-02-15", "qwen3.5-plus-2026-04-20", "qwen3.5-plus-latest", "qwen3.6-27b",
    "qwen3.6-flash", "qwen3.6-flash-2026-04-16", "qwen3.6-max-preview", "qwen3.6-plus",
    "qwen3.6-plus-2026-04-02", "qwq-plus", "qwq-plus-2025-03-05", "qwq-plus-latest",
)  # fmt: skip

# Families the parameter reference names without a concrete model; their base names must exist
# so the documented defaults are represented.
FAMILY_BASE_NAMES = (
    "qvq-max", "qvq-plus", "qwen3-omni-flash", "qwen-omni-turbo", "qwen2.5-vl-72b-instruct",
    "qwen-plus-2025-04-28", "qwen-vl-max-2025-04-08",
)  # fmt: skip

# Tokens the extraction regex matches that are not model names: family names, and the
# parameter reference's shorthand for qwen-vl-max-2025-08-13 / qwen-vl-plus-2025-08-15.
NOT_MODEL_NAMES = {"qwen1.5", "qwen2.5-vl", "qwen-vl-max-0813", "qwen-vl-plus-0815"}

SEEDS_DIR = Path("/work/shared/seeds")
_NAME = re.compile(r"\b(?:qwen|qwq|qvq|deepseek)[a-z0-9.\-]*[a-z0-9]")


def _catalog() -> Catalog:
    return Catalog(BUILTIN_MODELS)


def test_every_seed_name_is_in_the_catalog() -> None:
    catalog = _catalog()
    missing = [name for name in SEED_NAMES if name not in catalog]
    assert missing == []


def test_family_base_names_are_in_the_catalog() -> None:
    catalog = _catalog()
    assert [name for name in FAMILY_BASE_NAMES if name not in catalog] == []


def test_seed_name_list_matches_the_seed_documents() -> None:
    if not SEEDS_DIR.is_dir():
        pytest.skip("seed documents not available")
    found: set[str] = set()
    for path in SEEDS_DIR.glob("*.txt"):
        found.update(_NAME.findall(path.read_text(encoding="utf-8")))
    assert found - NOT_MODEL_NAMES == set(SEED_NAMES)


def test_shorthand_names_expand_to_catalogued_snapshots() -> None:
    catalog = _catalog()
    assert "qwen-vl-max-2025-08-13" in catalog
    assert "qwen-vl-plus-2025-08-15" in catalog


def test_names_are_unique() -> None:
    names = [spec.name for spec in BUILTIN_MODELS]
    assert len(names) == len(set(names))
    assert len(_catalog()) == len(BUILTIN_MODELS)


def test_limits_are_consistent() -> None:
    for spec in BUILTIN_MODELS:
        assert spec.context_length >= spec.max_output_tokens > 0, spec.name
        assert 0 < spec.input_limit <= spec.context_length, spec.name
        if spec.capabilities.thinking is ThinkingMode.NONE:
            assert spec.max_thinking_tokens is None, spec.name
        if spec.max_thinking_tokens is not None:
            assert spec.max_thinking_tokens > 0, spec.name


def test_every_model_has_a_family_and_description() -> None:
    for spec in BUILTIN_MODELS:
        assert spec.family, spec.name
        assert spec.description, spec.name


@pytest.mark.parametrize(
    ("name", "top_k"),
    [
        ("qwq-plus", 40),
        ("qwq-plus-latest", 40),
        ("qvq-max", 10),
        ("qvq-plus", 10),
        ("qwen-vl-plus-2025-07-10", 10),
        ("qwen-vl-plus-2025-08-15", 10),
        ("qwen-vl-plus", 1),
        ("qwen-vl-plus-2025-01-25", 1),
        ("qwen-vl-max-2025-04-08", 1),
        ("qwen2.5-omni-7b", 1),
        ("qwen3-omni-flash", 50),
        ("qwen-plus", 20),
        ("qwen3.6-plus", 20),
        ("qwen-vl-max-2025-08-13", 20),
        ("deepseek-v4-pro", 20),
    ],
)
def test_documented_top_k_defaults(name: str, top_k: int) -> None:
    assert _catalog()[name].defaults.top_k == top_k


@pytest.mark.parametrize(
    ("name", "presence"),
    [
        ("qwen-max", 1.5),
        ("qwen-max-latest", 1.5),
        ("qvq-max", 1.5),
        ("qwen-vl-max", 1.5),
        ("qwen-vl-plus", 1.5),
        ("qwen-vl-plus-latest", 1.2),
        ("qwen-vl-plus-2025-08-15", 1.2),
        ("qwen-vl-plus-2025-01-25", 1.0),
        ("qwen3.5-plus", 1.5),  # Qwen3.5, non-thinking mode
        ("qwen3-8b", 1.5),  # Qwen3, non-thinking mode
        ("qwen3-235b-a22b-instruct-2507", 1.5),  # Qwen3-Instruct series
        ("qwen3-vl-plus", 1.5),  # Qwen3-VL, non-thinking
        ("qwen3.6-plus", 0.5),
        ("qwen-plus", 0.0),
        ("qwen3-coder-plus", 0.0),
    ],
)
def test_documented_presence_penalty_defaults(name: str, presence: float) -> None:
    assert _catalog()[name].defaults.presence_penalty == presence


@pytest.mark.parametrize(
    ("name", "presence"),
    [
        ("qwen3.6-plus", 0.5),
        ("qwen3.6-plus-2026-04-02", 0.5),
        ("qwen3.5-plus", 0.5),
        ("qwen3-max-preview", 1.5),
        ("qwen3-0.6b", 1.5),
        ("qwen3-4b", 1.5),
        ("qwen3-8b", 0.5),
        ("qwen3-235b-a22b", 0.5),
        ("qwen-turbo", 0.5),
        ("qwen-turbo-2025-04-28", 0.5),
    ],
)
def test_documented_thinking_presence_penalty_defaults(name: str, presence: float) -> None:
    assert _catalog()[name].defaults.presence_penalty_thinking == presence


def test_an_ordinary_model_has_the_all_other_models_defaults() -> None:
    defaults = _catalog()["qwen-flash"].defaults
    assert defaults.top_k == 20
    assert defaults.presence_penalty == 0.0
    assert defaults.presence_penalty_thinking in (None, 0.0)


@pytest.mark.parametrize(
    ("name", "mode", "default"),
    [
        ("qwen-plus", ThinkingMode.OPTIONAL, False),
        ("qwen-flash", ThinkingMode.OPTIONAL, False),
        ("qwen-turbo", ThinkingMode.OPTIONAL, False),
        ("qwen3.5-plus", ThinkingMode.OPTIONAL, True),
        ("qwen3.6-plus", ThinkingMode.OPTIONAL, True),
        ("qwen3-8b", ThinkingMode.OPTIONAL, True),
        ("qwen3-235b-a22b-thinking-2507", ThinkingMode.ONLY, True),
        ("qwen3-next-80b-a3b-thinking", ThinkingMode.ONLY, True),
        ("qwq-plus", ThinkingMode.ONLY, True),
        ("qvq-max", ThinkingMode.ONLY, True),
        ("qwen3-235b-a22b-instruct-2507", ThinkingMode.NONE, False),
        ("qwen3-max-2025-09-23", ThinkingMode.NONE, False),
        ("qwen-max", ThinkingMode.NONE, False),
        ("qwen3-coder-plus", ThinkingMode.NONE, False),
    ],
)
def test_thinking_modes(name: str, mode: ThinkingMode, default: bool) -> None:
    caps = _catalog()[name].capabilities
    assert caps.thinking is mode
    assert caps.thinking_default is default


def test_streaming_only_thinkers() -> None:
    catalog = _catalog()
    for name in ("qwen3-8b", "qwen3-30b-a3b-thinking-2507", "qwq-plus", "qvq-max"):
        assert catalog[name].capabilities.thinking_stream_only, name
    for name in ("qwen-plus", "qwen3.5-plus", "qwen3-max", "deepseek-v4-pro"):
        assert not catalog[name].capabilities.thinking_stream_only, name


def test_thinking_models_have_a_thinking_budget() -> None:
    for spec in BUILTIN_MODELS:
        if spec.capabilities.thinking is not ThinkingMode.NONE and spec.family != "deepseek":
            assert spec.max_thinking_tokens is not None, spec.name


def test_documented_capability_lists() -> None:
    catalog = _catalog()
    # logprobs: Qwen-plus/turbo snapshots (not the stable names), Qwen3-VL, Qwen3 open source.
    assert catalog["qwen-plus-2025-09-11"].capabilities.logprobs
    assert not catalog["qwen-plus"].capabilities.logprobs
    assert catalog["qwen-turbo-2025-04-28"].capabilities.logprobs
    assert not catalog["qwen-turbo"].capabilities.logprobs
    assert catalog["qwen3-vl-plus"].capabilities.logprobs
    assert catalog["qwen3-vl-flash"].capabilities.logprobs
    assert catalog["qwen3-32b"].capabilities.logprobs
    # n > 1: qwen-plus and Qwen3 non-thinking.
    assert catalog["qwen-plus"].capabilities.multiple_choices
    assert catalog["qwen3-8b"].capabilities.multiple_choices
    assert not catalog["qwq-plus"].capabilities.multiple_choices
    # Modalities.
    assert catalog["qvq-max"].capabilities.vision
    assert catalog["qwen3.5-plus"].capabilities.vision
    assert catalog["qwen3-omni-flash"].capabilities.audio
    assert not catalog["qwen-plus"].capabilities.vision
    # Web search on the commercial flagship families.
    for name in ("qwen-max", "qwen3-max", "qwen-plus", "qwen-flash", "qwen-turbo", "qwen3.6-plus"):
        assert catalog[name].capabilities.search, name
    assert not catalog["qwen3-8b"].capabilities.search


def test_embedded_model() -> None:
    spec = _catalog()["smollm2-135m-instruct"]
    assert spec.family == "smollm2"
    assert spec.context_length == 8192
    assert spec.max_output_tokens == 8192
    caps = spec.capabilities
    assert caps.thinking is ThinkingMode.NONE
    assert caps.tools and caps.multiple_choices and caps.logprobs and caps.json_schema
    assert not caps.vision and not caps.search
    assert spec.defaults.top_k is None
    assert spec.defaults.presence_penalty == 0.0
    assert "SmolLM2-135M-Instruct" in spec.description
    assert "llama.cpp" in spec.description

"""Backend types are looked up by name and their options checked before anything is built;
a plugin's entry point registers the same way the built-in types do."""

import subprocess
import sys
from dataclasses import dataclass

import pytest
from pydantic import BaseModel, ConfigDict

from openscope.backends import registry as registry_module
from openscope.backends.base import Backend, BackendType
from openscope.backends.llamacpp import LlamaCppBackend
from openscope.backends.registry import BackendConfigError, BackendRegistry
from openscope.backends.scripted import ScriptedBackend

REGISTRY = BackendRegistry.with_defaults()


def config_error(type_name: str, options: dict[str, object]) -> str:
    with pytest.raises(BackendConfigError) as caught:
        REGISTRY.create(type_name, options)
    return str(caught.value)


def test_a_misspelt_option_is_refused_by_name() -> None:
    assert config_error("llamacpp", {"n_thread": 4}) == "unknown option 'n_thread'"
    assert config_error("scripted", {"dealy": 1}) == "unknown option 'dealy'"


def test_an_out_of_range_option_is_refused_with_the_rule() -> None:
    assert config_error("llamacpp", {"parallel": 0}) == (
        "option 'parallel': Input should be greater than 0"
    )


def test_an_unknown_tool_format_fails_at_creation_not_at_request_time() -> None:
    assert config_error("llamacpp", {"tool_format": "mistral"}) == (
        "option 'tool_format': Input should be 'hermes' or 'qwen3_coder'"
    )


def test_every_problem_is_named() -> None:
    message = config_error("llamacpp", {"n_thread": 4, "parallel": 0})
    assert "unknown option 'n_thread'" in message
    assert "option 'parallel'" in message


def test_option_errors_never_repeat_the_value() -> None:
    secret = "sk-upstream-0123456789abcdef"
    with pytest.raises(BackendConfigError) as caught:
        REGISTRY.create("scripted", {"delay": secret})
    assert secret not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_an_unknown_type_lists_the_known_ones() -> None:
    known = "llamacpp, openai_upstream, scripted"
    assert config_error("vllm", {}) == f"unknown backend type 'vllm' (known: {known})"


async def test_checked_options_reach_the_backend() -> None:
    backend = REGISTRY.create("llamacpp", {"n_ctx": 2048, "parallel": 2})  # loads no model
    assert isinstance(backend, LlamaCppBackend)
    assert backend.context_length("any") == 2048
    await backend.close()
    assert isinstance(REGISTRY.create("scripted", {"delay": 0.5}), ScriptedBackend)


class EchoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    greeting: str = "hello"


def create_echo(options: EchoOptions) -> Backend:
    return ScriptedBackend()


@dataclass
class FakeEntryPoint:
    name: str
    value: object

    def load(self) -> object:
        return self.value


def test_a_plugin_registers_through_its_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = BackendType(options=EchoOptions, create=create_echo)
    monkeypatch.setattr(
        registry_module,
        "entry_points",
        lambda group: [FakeEntryPoint("echo", plugin)] if group == "openscope.backends" else [],
    )
    registry = BackendRegistry.with_defaults()
    assert isinstance(registry.create("echo", {"greeting": "hi"}), ScriptedBackend)
    with pytest.raises(BackendConfigError, match="unknown option 'greting'"):
        registry.create("echo", {"greting": "hi"})


def test_a_plugin_that_is_not_a_backend_type_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        registry_module, "entry_points", lambda group: [FakeEntryPoint("old", create_echo)]
    )
    with pytest.raises(TypeError, match="'old' must be registered as a BackendType"):
        BackendRegistry.with_defaults()


def test_checking_options_does_not_import_llama_cpp() -> None:
    # a fresh interpreter: this test session may have imported llama_cpp already
    code = (
        "import sys\n"
        "from openscope.backends.llamacpp.options import LlamaCppOptions\n"
        "from openscope.backends.registry import BackendRegistry\n"
        "BackendRegistry.with_defaults()\n"
        "LlamaCppOptions.model_validate({'parallel': 2})\n"
        "assert 'llama_cpp' not in sys.modules, 'llama_cpp was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

"""Backend types by name. Built-in backends register here exactly as a plugin would: a
third-party package adds an entry point in the `openscope.backends` group whose object is
a `BackendFactory`."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from openscope.backends.base import Backend, BackendFactory


def _llamacpp(options: dict[str, Any]) -> Backend:
    from openscope.backends.llamacpp import LlamaCppBackend  # heavy: import on use

    return LlamaCppBackend.from_options(options)


def _scripted(options: dict[str, Any]) -> Backend:
    from openscope.backends.scripted import ScriptedBackend

    return ScriptedBackend.from_options(options)


class BackendRegistry:
    def __init__(self) -> None:
        self._factories: dict[str, BackendFactory] = {}

    def register(self, type_name: str, factory: BackendFactory) -> None:
        self._factories[type_name] = factory

    def create(self, type_name: str, options: dict[str, Any]) -> Backend:
        try:
            factory = self._factories[type_name]
        except KeyError:
            known = ", ".join(sorted(self._factories))
            raise ValueError(f"unknown backend type {type_name!r} (known: {known})") from None
        return factory(options)

    @classmethod
    def with_defaults(cls) -> BackendRegistry:
        registry = cls()
        registry.register("llamacpp", _llamacpp)
        registry.register("scripted", _scripted)
        for entry in entry_points(group="openscope.backends"):
            registry.register(entry.name, entry.load())
        return registry

"""Backend types by name. Built-in backends register here exactly as a plugin would: a
third-party package adds an entry point in the `openscope.backends` group whose object is
a `BackendType`.

Options are checked against the type's options model before the backend is built, so a
misspelt or wrongly typed option stops the server at startup. The errors name the option
and never repeat its value, which may be a secret (an upstream's API key)."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

from pydantic import ValidationError

from openscope.backends.base import Backend, BackendServices, BackendType
from openscope.backends.llamacpp.options import LlamaCppOptions
from openscope.backends.openai_upstream.options import UpstreamOptions
from openscope.backends.scripted.options import ScriptedOptions
from openscope.core.validation import describe_errors

ENTRY_POINT_GROUP = "openscope.backends"


class BackendConfigError(ValueError):
    """A backend instance's type or options are wrong; the message says which, never with
    the option's value."""


def _llamacpp(options: LlamaCppOptions) -> Backend:
    from openscope.backends.llamacpp import LlamaCppBackend

    return LlamaCppBackend.from_options(options)


def _scripted(options: ScriptedOptions) -> Backend:
    from openscope.backends.scripted import ScriptedBackend

    return ScriptedBackend.from_options(options)


def _upstream(options: UpstreamOptions) -> Backend:
    return _upstream_with(options, BackendServices())


def _upstream_with(options: UpstreamOptions, services: BackendServices) -> Backend:
    from openscope.backends.openai_upstream import UpstreamBackend

    return UpstreamBackend.from_options(options, images=services.images)


LLAMACPP = BackendType(options=LlamaCppOptions, create=_llamacpp)
UPSTREAM = BackendType(options=UpstreamOptions, create=_upstream, create_with=_upstream_with)
SCRIPTED = BackendType(options=ScriptedOptions, create=_scripted)


class BackendRegistry:
    def __init__(self) -> None:
        self._types: dict[str, BackendType[Any]] = {}

    def register(self, type_name: str, backend_type: BackendType[Any]) -> None:
        if not isinstance(backend_type, BackendType):
            raise TypeError(
                f"backend type {type_name!r} must be registered as a BackendType, "
                f"got {type(backend_type).__name__}"
            )
        self._types[type_name] = backend_type

    def create(
        self,
        type_name: str,
        options: Mapping[str, Any],
        services: BackendServices | None = None,
    ) -> Backend:
        """Check `options` against the type's options model, then build the backend (with
        the server's `services`, for a type that uses them); raises `BackendConfigError`
        for an unknown type or bad options."""
        backend_type = self._types.get(type_name)
        if backend_type is None:
            known = ", ".join(sorted(self._types))
            raise BackendConfigError(f"unknown backend type {type_name!r} (known: {known})")
        try:
            checked = backend_type.options.model_validate(options)
        except ValidationError as error:
            # from None: the ValidationError's own text shows the values
            raise BackendConfigError(describe_errors(error, "option")) from None
        if backend_type.create_with is not None and services is not None:
            return backend_type.create_with(checked, services)
        return backend_type.create(checked)

    @classmethod
    def with_defaults(cls) -> BackendRegistry:
        registry = cls()
        registry.register("llamacpp", LLAMACPP)
        registry.register("scripted", SCRIPTED)
        registry.register("openai_upstream", UPSTREAM)
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            registry.register(entry.name, entry.load())
        return registry

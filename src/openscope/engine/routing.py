"""Which backend serves which model name.

A route maps a served name to a backend instance and the name that backend knows the
model by. An alias serves a catalogue name (say `qwen-plus`) with another served model,
so Model Studio code runs unchanged on whatever this server hosts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace

from openscope.backends.base import BackendFeatures
from openscope.core.builtin_tools import BuiltinToolKind
from openscope.core.catalog import Catalog, ModelSpec, SamplingDefaults, ThinkingMode
from openscope.core.catalog.spec import Capabilities
from openscope.core.errors import ModelNotFound
from openscope.core.service import ServedModel

log = logging.getLogger("openscope.routing")

OWNER = "openscope"


@dataclass(frozen=True, slots=True)
class Route:
    backend: str  # the backend instance's name in settings
    model: str  # the model's name at that backend


@dataclass(frozen=True, slots=True)
class Target:
    served: ServedModel
    route: Route


def with_tool_loop(
    features: BackendFeatures, loop_tools: Collection[BuiltinToolKind]
) -> BackendFeatures:
    """What a backend can do once the tool loop runs `loop_tools` for it: the built-in
    tools it runs itself, and the loop's too when its models can call functions (the loop
    offers each built-in tool as a function). Without function calling, nothing is added:
    such a request is refused by name, as it would be with no loop."""
    extra = frozenset(loop_tools) - features.builtin_tools
    if not extra or not features.tools:
        return features
    return replace(features, builtin_tools=features.builtin_tools | extra)


def _uncatalogued(name: str, features: BackendFeatures | None) -> ModelSpec:
    """A routed model the catalogue does not know (an upstream's own model): it can do
    what its backend can do, within a generous window the backend enforces for real."""
    can = features or BackendFeatures()
    return ModelSpec(
        name=name,
        family="custom",
        context_length=131_072,
        max_output_tokens=32_768,
        capabilities=Capabilities(
            thinking=ThinkingMode.OPTIONAL if can.thinking else ThinkingMode.NONE,
            tools=can.tools,
            vision=can.vision,
            audio=can.audio_input or can.audio_output,
            multiple_choices=can.multiple_choices,
            logprobs=can.logprobs,
            search=BuiltinToolKind.WEB_SEARCH in can.builtin_tools,
            json_schema=can.json_schema,
        ),
        defaults=SamplingDefaults(top_k=None),
    )


class Router:
    def __init__(
        self,
        catalog: Catalog,
        routes: Mapping[str, Route],
        aliases: Mapping[str, str],
        *,
        created: int,
        features: Callable[[Route], BackendFeatures] | None = None,
        loop_tools: Collection[BuiltinToolKind] = frozenset(),
    ) -> None:
        """`features` (what a route's backend can do for its model) describes routed models
        the catalogue lacks, with the built-in tools the engine's tool loop runs
        (`loop_tools`: the kinds of its runners) added as `with_tool_loop` says."""
        self._catalog = catalog
        self._targets: dict[str, Target] = {}
        for name, route in routes.items():
            can = with_tool_loop(features(route), loop_tools) if features is not None else None
            spec = catalog.get(name) or _uncatalogued(name, can)
            self._targets[name] = Target(ServedModel(name, spec, created, OWNER), route)
        for alias, target_name in aliases.items():
            target = self._targets.get(target_name)
            if target is None:
                raise ValueError(
                    f"alias {alias!r} points at {target_name!r}, which no route serves"
                )
            spec = catalog.get(alias) or target.served.spec
            self._targets[alias] = Target(ServedModel(alias, spec, created, OWNER), target.route)

    def served(self) -> list[ServedModel]:
        return [target.served for target in self._targets.values()]

    def resolve(self, name: str) -> Target:
        target = self._targets.get(name)
        if target is not None:
            return target
        if name in self._catalog:
            # The how-to is for the operator: the client gets Model Studio's answer, which
            # names no other model this server serves.
            log.info(
                "a request asked for %s, which no backend serves: start the server with "
                '`--alias %s=<served model>` or add a `"%s"` entry under [routes] or '
                "[aliases] in openscope.toml",
                name,
                name,
                name,
            )
        raise ModelNotFound(
            f"The model {name} does not exist or you do not have access to it.", param="model"
        )

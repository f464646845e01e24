"""Lookup over model specs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from openscope.core.catalog.models import BUILTIN_MODELS
from openscope.core.catalog.spec import ModelSpec


class Catalog(Mapping[str, ModelSpec]):
    def __init__(self, specs: Iterable[ModelSpec]) -> None:
        self._specs: dict[str, ModelSpec] = {}
        for spec in specs:
            if spec.name in self._specs:
                raise ValueError(f"model {spec.name!r} is listed twice")
            self._specs[spec.name] = spec

    def __getitem__(self, name: str) -> ModelSpec:
        return self._specs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)


def default_catalog() -> Catalog:
    return Catalog(BUILTIN_MODELS)

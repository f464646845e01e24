from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import replace

from openscope.backends.base import Backend, BackendFeatures, EngineMetrics
from openscope.core import rules
from openscope.core.catalog import ThinkingMode
from openscope.core.errors import InvalidParameter
from openscope.core.events import Event
from openscope.core.messages import ImagePart, ToolCallPart, ToolResultPart
from openscope.core.request import GenerateRequest, ResponseFormatType
from openscope.core.rules import Field, Refusal, Wording
from openscope.core.service import ServedModel
from openscope.engine.routing import Router, Target


def _unsupported(parameter: Field, model: str) -> InvalidParameter:
    return Refusal(Wording.BACKEND_LACKS, parameter, model=model)


def _has_tool_traffic(request: GenerateRequest) -> bool:
    return any(
        isinstance(part, ToolCallPart | ToolResultPart)
        for message in request.messages
        for part in message.parts
    )


def _has_images(request: GenerateRequest) -> bool:
    for message in request.messages:
        for part in message.parts:
            if isinstance(part, ImagePart):
                return True
            if isinstance(part, ToolResultPart) and any(
                isinstance(p, ImagePart) for p in part.content
            ):
                return True
    return False


def check_features(request: GenerateRequest, target: Target, features: BackendFeatures) -> None:
    """Refuse, naming the parameter, whatever the backend cannot do: never drop it."""
    model = target.served.id
    thinking = rules.thinking_enabled(request, target.served.spec)
    needs = [
        (bool(request.tools), features.tools, Field.TOOLS),
        (_has_tool_traffic(request), features.tools, Field.MESSAGES),
        (thinking, features.thinking, Field.THINKING),
        (
            request.response_format.type is ResponseFormatType.JSON_OBJECT,
            features.json_object,
            Field.RESPONSE_FORMAT,
        ),
        (
            request.response_format.type is ResponseFormatType.JSON_SCHEMA,
            features.json_schema,
            Field.RESPONSE_FORMAT,
        ),
        (request.search.enabled, features.search, Field.SEARCH),
        (request.code_interpreter, features.code_interpreter, Field.CODE_INTERPRETER),
        ("audio" in request.output_modalities, features.audio_output, Field.OUTPUT_MODALITIES),
        (request.sampling.logprobs, features.logprobs, Field.LOGPROBS),
        (request.sampling.n > 1, features.multiple_choices, Field.N),
        (_has_images(request), features.vision, Field.MESSAGES),
    ]
    for needed, supported, parameter in needs:
        if needed and not supported:
            raise _unsupported(parameter, model)


def _settle_thinking(
    request: GenerateRequest, target: Target, features: BackendFeatures
) -> GenerateRequest:
    """A hybrid model that thinks by default, served by a backend that cannot think,
    answers without thinking when the client did not ask for it: the client sent nothing
    that would be dropped. An explicit `enable_thinking: true` is still refused."""
    spec = target.served.spec
    if (
        request.thinking.enabled is None
        and spec.capabilities.thinking is ThinkingMode.OPTIONAL
        and not features.thinking
    ):
        return replace(request, thinking=replace(request.thinking, enabled=False))
    return request


async def _started(events: AsyncGenerator[Event, None]) -> AsyncGenerator[Event, None]:
    """Wait for the first event, so failures before generation starts (prompt too long,
    backend down) raise here, while the protocol can still send a plain error response."""
    try:
        first = await anext(events)
    except StopAsyncIteration:
        first = None
    except BaseException:
        await events.aclose()
        raise

    async def chained() -> AsyncGenerator[Event, None]:
        try:
            if first is not None:
                yield first
            async for event in events:
                yield event
        finally:
            await events.aclose()

    return chained()


class Engine:
    def __init__(self, router: Router, backends: Mapping[str, Backend]) -> None:
        self._router = router
        self._backends = dict(backends)

    def models(self) -> Sequence[ServedModel]:
        return self._router.served()

    def model(self, name: str) -> ServedModel:
        return self._router.resolve(name).served

    async def generate(
        self, request: GenerateRequest, *, stream: bool
    ) -> AsyncGenerator[Event, None]:
        target = self._router.resolve(request.model)
        backend = self._backends[target.route.backend]
        request = _settle_thinking(request, target, backend.features)
        rules.check_request(request, target.served.spec, stream=stream)
        check_features(request, target, backend.features)
        request = rules.apply_defaults(request, target.served.spec)
        # Backends see whether to think as a decision, not as "the model's default".
        thinks = rules.thinking_enabled(request, target.served.spec)
        request = replace(request, thinking=replace(request.thinking, enabled=thinks))
        return await _started(backend.generate(request, target.route.model))

    async def count_tokens(self, request: GenerateRequest) -> int:
        target = self._router.resolve(request.model)
        return await self._backends[target.route.backend].count_tokens(request, target.route.model)

    def metrics(self) -> dict[str, EngineMetrics]:
        """Each backend's engine snapshot, by backend name; backends without one are left out."""
        snapshots = {name: backend.metrics() for name, backend in self._backends.items()}
        return {name: snapshot for name, snapshot in snapshots.items() if snapshot is not None}

    def unhealthy(self) -> list[str]:
        """The backends that can no longer serve, by name."""
        return [name for name, backend in self._backends.items() if not backend.healthy]

    async def start(self) -> None:
        for backend in self._backends.values():
            await backend.start()

    async def close(self) -> None:
        for backend in self._backends.values():
            await backend.close()

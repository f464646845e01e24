"""Resolve and validate: the model asked for becomes a served model with its catalogue
entry, and the request is checked against that entry and against what its backend can do
before anything runs. What passes goes on with the model's defaults filled in."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Collection, Mapping
from dataclasses import replace

from openscope.backends.base import Backend, BackendFeatures
from openscope.core import rules
from openscope.core.builtin_tools import BuiltinToolKind
from openscope.core.cache import cache_markers
from openscope.core.call import Call
from openscope.core.catalog import ThinkingMode
from openscope.core.errors import InvalidParameter
from openscope.core.events import Event
from openscope.core.request import GenerateRequest, ResponseFormatType
from openscope.core.rules import Field, Refusal, Wording
from openscope.core.rules.capabilities import has_audio, has_images, has_tool_traffic
from openscope.engine.pipeline import Next
from openscope.engine.routing import Router, Target, with_tool_loop


def _unsupported(parameter: Field, model: str) -> InvalidParameter:
    return Refusal(Wording.BACKEND_LACKS, parameter, model=model)


# Built-in tools with a field of their own (chat switches them on with a flag); the others
# are declared in `tools`.
BUILTIN_FIELDS = {
    BuiltinToolKind.WEB_SEARCH: Field.SEARCH,
    BuiltinToolKind.CODE_INTERPRETER: Field.CODE_INTERPRETER,
}


def _builtin_unsupported(
    kind: BuiltinToolKind, model: str, features: BackendFeatures
) -> InvalidParameter:
    if kind is BuiltinToolKind.IMAGE_SEARCH and features.tools:
        # The tool loop would run it on this backend (it calls functions), had it a runner:
        # one exists only with a search provider that has image results.
        return Refusal(Wording.NO_IMAGE_SEARCH_PROVIDER, Field.TOOLS)
    field = BUILTIN_FIELDS.get(kind)
    if field is not None:
        return Refusal(Wording.BACKEND_LACKS, field, model=model)
    return Refusal(Wording.BACKEND_LACKS_TOOL, Field.TOOLS, model=model, tool=str(kind))


def check_features(request: GenerateRequest, target: Target, features: BackendFeatures) -> None:
    """Refuse, naming the parameter, whatever the backend cannot do: never drop it."""
    model = target.served.id
    if (
        any(t.kind is BuiltinToolKind.IMAGE_SEARCH for t in request.builtin_tools)
        and not features.vision
    ):
        # Said before the input's image is refused: the tool is why an image was sent, and
        # it needs the model to see it wherever it runs (here or on a Model Studio upstream).
        raise Refusal(Wording.IMAGE_SEARCH_NEEDS_VISION, Field.TOOLS, model=model)
    thinking = rules.thinking_enabled(request, target.served.spec)
    needs = [
        (bool(request.tools), features.tools, Field.TOOLS),
        (has_tool_traffic(request), features.tools, Field.MESSAGES),
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
        ("audio" in request.output_modalities, features.audio_output, Field.OUTPUT_MODALITIES),
        (request.sampling.logprobs, features.logprobs, Field.LOGPROBS),
        (request.sampling.n > 1, features.multiple_choices, Field.N),
        (has_images(request), features.vision, Field.MESSAGES),
        (has_audio(request), features.audio_input, Field.MESSAGES),
    ]
    for needed, supported, parameter in needs:
        if needed and not supported:
            raise _unsupported(parameter, model)
    if request.session_cache and not features.explicit_cache:
        raise _unsupported(Field.SESSION_CACHE, model)
    if cache_markers(request.messages, request.tools) and not features.explicit_cache:
        raise _unsupported(Field.CACHE_CONTROL, model)
    for tool in request.builtin_tools:
        if tool.kind not in features.builtin_tools:
            raise _builtin_unsupported(tool.kind, model, features)


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


class Resolve:
    def __init__(
        self,
        router: Router,
        backends: Mapping[str, Backend],
        *,
        loop_tools: Collection[BuiltinToolKind] = frozenset(),
    ) -> None:
        """`loop_tools`: the built-in tools the engine's tool loop runs, which a backend
        that calls functions can use as if it ran them itself (`with_tool_loop`)."""
        self._router = router
        self._backends = backends
        self._loop_tools = frozenset(loop_tools)

    def validated(self, call: Call) -> GenerateRequest:
        """The call's request, checked and with the model's defaults applied; raises the
        first rule it breaks."""
        request = call.request
        target = self._router.resolve(request.model)
        features = with_tool_loop(
            self._backends[target.route.backend].features(target.route.model), self._loop_tools
        )
        request = _settle_thinking(request, target, features)
        rules.check_request(request, target.served.spec, stream=call.stream)
        check_features(request, target, features)
        request = rules.apply_defaults(request, target.served.spec)
        # Backends see whether to think as a decision, not as "the model's default".
        thinks = rules.thinking_enabled(request, target.served.spec)
        return replace(request, thinking=replace(request.thinking, enabled=thinks))

    def __call__(self, call: Call, next: Next) -> AsyncGenerator[Event, None]:
        # Checked at once, and then out of the way: the events go straight to the caller.
        return next(replace(call, request=self.validated(call)))

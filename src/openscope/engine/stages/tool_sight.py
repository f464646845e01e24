"""What the tool loop gives a tool that looks at the input's images (`image_search`): the
images, in order, and `describe`, a short sub-request to the same model (the image and an
instruction, no tools, no thinking) whose text is the answer. Its usage is added to the
answer's (`AsideUsage`): it does not count against the answer's `max_tokens`, which bounds
what the client is answered."""

from __future__ import annotations

from contextlib import aclosing
from dataclasses import dataclass, field, replace

from openscope.core.call import Call
from openscope.core.events import PartDelta, PartKind, PartStart, Usage, UsageReport
from openscope.core.messages import ImagePart, Message, Role, TextPart, images_of
from openscope.core.request import GenerateRequest, SamplingParams, ThinkingConfig
from openscope.core.tool_runner import Describe
from openscope.engine.pipeline import Next

# A description for an image search is a few words.
DESCRIPTION_TOKENS = 48


@dataclass(slots=True)
class AsideUsage:
    """The usage of the loop's own sub-requests (image descriptions), added to the answer's."""

    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True, slots=True)
class Sight:
    """What a tool that looks at the input's images is given (`ToolContext`)."""

    images: tuple[ImagePart, ...] = ()
    describe: Describe | None = None


def sight_of(call: Call, next: Next, aside: AsideUsage) -> Sight:
    """The input's images and a way to ask the model about one. Only a tool that looks at
    images calls `describe`; building it costs a scan of the messages."""

    async def describe(image: ImagePart, instruction: str) -> str:
        request = _description_request(call.request, image, instruction)
        text_parts: set[int] = set()
        chunks: list[str] = []
        spent = Usage()
        try:
            async with aclosing(next(replace(call, request=request))) as events:
                async for event in events:
                    match event:
                        case PartStart(choice=0, kind=PartKind.TEXT):
                            text_parts.add(event.part)
                        case PartDelta(choice=0) if event.part in text_parts:
                            chunks.append(event.text)
                        case UsageReport(usage=reported):
                            spent = reported  # each report holds the call's totals so far
                        case _:
                            pass
        finally:
            aside.usage = aside.usage + spent  # spent even if the run is cut short
        return "".join(chunks)

    return Sight(input_images(call.request.messages), describe)


def input_images(messages: tuple[Message, ...]) -> tuple[ImagePart, ...]:
    """The images of the input in order (a tool's result may hold some too): what
    `image_search`'s `img_idx` counts, from 0."""
    return tuple(images_of(messages))


def _description_request(
    request: GenerateRequest, image: ImagePart, instruction: str
) -> GenerateRequest:
    """The request's model asked about one image: the image and the instruction alone, no
    tools, no thinking, a few words at most; the client's sampling choices kept."""
    s = request.sampling
    return GenerateRequest(
        model=request.model,
        messages=(Message(Role.USER, (image, TextPart(instruction))),),
        sampling=SamplingParams(
            temperature=s.temperature,
            top_p=s.top_p,
            top_k=s.top_k,
            seed=s.seed,
            max_tokens=DESCRIPTION_TOKENS,
        ),
        thinking=ThinkingConfig(enabled=False),
    )

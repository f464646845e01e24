from openscope.core.events import (
    ChoiceEnd,
    FinishReason,
    PartDelta,
    PartEnd,
    PartKind,
    PartStart,
    TokenLogprob,
    Usage,
    UsageReport,
)
from openscope.core.fold import fold
from openscope.core.messages import ReasoningPart, TextPart, ToolCallPart


def test_fold_builds_each_choice_from_its_parts() -> None:
    lp = TokenLogprob("Hi", -0.5, (72, 105))
    events = [
        UsageReport(Usage(input_tokens=5)),
        PartStart(0, 0, PartKind.REASONING),
        PartDelta(0, 0, "think"),
        PartEnd(0, 0, signature="sig"),
        PartStart(0, 1, PartKind.TEXT),
        PartStart(1, 0, PartKind.TEXT),
        PartDelta(0, 1, "Hi", (lp,)),
        PartDelta(1, 0, "Yo"),
        PartDelta(0, 1, " there"),
        PartEnd(0, 1),
        PartEnd(1, 0),
        PartStart(0, 2, PartKind.TOOL_CALL, tool_call_id="call_1", tool_name="f"),
        PartDelta(0, 2, '{"a":'),
        PartDelta(0, 2, "1}"),
        PartEnd(0, 2),
        ChoiceEnd(0, FinishReason.TOOL_CALLS),
        ChoiceEnd(1, FinishReason.LENGTH),
        UsageReport(Usage(input_tokens=5, output_tokens=7)),
    ]
    result = fold(events, logprobs=True)
    first, second = result.choices
    assert first.message.parts == (
        ReasoningPart("think", signature="sig"),
        TextPart("Hi there"),
        ToolCallPart(id="call_1", name="f", arguments='{"a":1}'),
    )
    assert first.finish_reason is FinishReason.TOOL_CALLS
    assert first.logprobs == (lp,)
    assert second.message.text == "Yo"
    assert second.finish_reason is FinishReason.LENGTH
    assert result.usage == Usage(input_tokens=5, output_tokens=7)


def test_fold_without_logprobs_reports_none() -> None:
    events = [PartStart(0, 0, PartKind.TEXT), PartDelta(0, 0, "x"), ChoiceEnd(0, FinishReason.STOP)]
    assert fold(events).choices[0].logprobs is None

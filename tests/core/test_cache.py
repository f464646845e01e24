from openscope.core.cache import TOOLS, cache_markers, through_marker
from openscope.core.messages import CacheControl, Message, Role, TextPart, ToolResultPart
from openscope.core.request import ToolSpec

MARK = CacheControl()


def text(t: str, marked: bool = False) -> TextPart:
    return TextPart(t, cache_control=MARK if marked else None)


def test_only_the_last_four_markers_count_tools_first() -> None:
    tools = (ToolSpec("a", cache_control=MARK), ToolSpec("b"))
    messages = (
        Message(Role.SYSTEM, (text("s1", True), text("s2", True))),
        Message(Role.USER, (text("u1", True),)),
        Message(Role.USER, (text("u2"), text("u3", True))),
    )
    assert cache_markers(messages, tools) == ((0, 0), (0, 1), (1, 0), (2, 1))
    assert cache_markers(messages[:1], tools) == ((TOOLS, 0), (0, 0), (0, 1))


def test_through_a_marker_keeps_the_parts_up_to_it() -> None:
    messages = (
        Message(Role.SYSTEM, (text("s"),)),
        Message(Role.USER, (text("a", True), text("b"))),
    )
    assert through_marker(messages, (1, 0)) == (messages[0], Message(Role.USER, (text("a", True),)))
    assert through_marker(messages, (TOOLS, 0)) == messages[:1]
    assert through_marker(messages[1:], (TOOLS, 0)) == ()


def test_a_marked_block_inside_a_tool_result_is_a_marker() -> None:
    # chat marks a tool message's content blocks; the result part carries no marker itself
    result = ToolResultPart("call_1", (TextPart("20 C", cache_control=CacheControl()),))
    messages = (Message(Role.USER, (TextPart("hi"),)), Message(Role.TOOL, (result,)))
    assert cache_markers(messages) == ((1, 0),)

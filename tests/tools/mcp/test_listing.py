"""A server's listing, bounded (`list_bounded`) against a scripted session: the pages
followed, the tools kept (the allowed ones first), and a tool too large left out, each
said in the notes."""

from __future__ import annotations

import pytest
from mcp.types import ListToolsResult, PaginatedRequestParams, Tool

from openscope.core.builtin_tools import Mcp
from openscope.tools.mcp.listing import ListingLimits, list_bounded


def tool(name: str, description: str = "A tool.") -> Tool:
    return Tool(name=name, description=description, input_schema={"type": "object"})


class Pages:
    """A session whose listing is `per_page` tools a page, `pages` pages (None: no end)."""

    def __init__(self, per_page: int, pages: int | None = None) -> None:
        self.per_page = per_page
        self.pages = pages
        self.asked: list[str | None] = []

    async def list_tools(self, *, params: PaginatedRequestParams | None = None) -> ListToolsResult:
        cursor = params.cursor if params is not None else None
        self.asked.append(cursor)
        page = int(cursor or 0)
        tools = [tool(f"t{page * self.per_page + i}") for i in range(self.per_page)]
        last = self.pages is not None and page + 1 >= self.pages
        return ListToolsResult(tools=tools, next_cursor=None if last else str(page + 1))


SERVER = Mcp("s", "https://s.example/sse")


async def test_every_page_of_a_short_listing_is_read() -> None:
    session = Pages(per_page=3, pages=4)
    listing = await list_bounded(session, SERVER, ListingLimits())
    assert [t.name for t in listing.tools] == [f"t{i}" for i in range(12)]
    assert session.asked == [None, "1", "2", "3"]
    assert listing.notes == ()


async def test_a_listing_without_end_stops_after_max_pages() -> None:
    session = Pages(per_page=1)
    listing = await list_bounded(session, SERVER, ListingLimits(max_pages=10))
    assert len(session.asked) == 10
    assert len(listing.tools) == 10
    assert listing.notes == ("pages past the first 10 were not read",)


async def test_at_most_max_tools_are_kept_the_allowed_ones_first() -> None:
    session = Pages(per_page=100, pages=3)
    spec = Mcp("s", "https://s.example/sse", allowed_tools=("t250", "t7"))
    listing = await list_bounded(session, spec, ListingLimits(max_tools=128))
    # t250 is allowed: kept though past the first 128, in the server's order
    assert [t.name for t in listing.tools] == [*(f"t{i}" for i in range(127)), "t250"]
    assert listing.notes == ("172 tools past the first 128 were left out",)


async def test_a_tool_whose_entry_is_too_large_is_left_out() -> None:
    class Wide(Pages):
        async def list_tools(
            self, *, params: PaginatedRequestParams | None = None
        ) -> ListToolsResult:
            return ListToolsResult(tools=[tool("small"), tool("wide", "x" * 20_000), tool("after")])

    listing = await list_bounded(Wide(1), SERVER, ListingLimits(max_tool_bytes=16 * 1024))
    assert [t.name for t in listing.tools] == ["small", "after"]
    (note,) = listing.notes
    assert "'wide' was left out" in note and "16384" in note


@pytest.mark.parametrize("field", ["max_pages", "max_tools", "max_tool_bytes"])
def test_the_limits_are_positive(field: str) -> None:
    with pytest.raises(ValueError, match="positive"):
        ListingLimits(**{field: 0})  # type: ignore[arg-type]

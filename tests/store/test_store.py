"""The store on SQLite (always) and PostgreSQL (when OPENSCOPE_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from openscope.core.builtin_tools import (
    BuiltinToolKind,
    CodeInterpreter,
    FileSearch,
    ImageSearch,
    Mcp,
    WebExtractor,
    WebSearch,
)
from openscope.core.errors import InvalidParameter, NotFound
from openscope.core.events import Usage
from openscope.core.messages import (
    CacheControl,
    ImagePart,
    Message,
    ReasoningPart,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from openscope.core.principal import DEFAULT_WORKSPACE
from openscope.core.request import ThinkingConfig, ToolChoice, ToolChoiceMode, ToolSpec
from openscope.core.state import (
    Conversation,
    Item,
    Order,
    ResponseError,
    ResponseStatus,
    StoredResponse,
    TurnSettings,
)
from openscope.store import Store, open_store, sqlite_url

W = DEFAULT_WORKSPACE
NOW = 100  # before every record's default expiry

TABLES = ("conversation_items", "conversations", "response_items", "responses")


async def count(url: str, table: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())
    finally:
        await engine.dispose()


def text_item(item_id: str, text_: str, role: Role = Role.USER, at: int = 100) -> Item:
    return Item(item_id, Message(role, (TextPart(text_),)), created_at=at)


def rich_items() -> tuple[tuple[Item, ...], tuple[Item, ...]]:
    inputs = (
        Item(
            "msg_in",
            Message(
                Role.USER,
                (
                    TextPart("look", cache_control=CacheControl()),
                    ImagePart("data:image/png;base64,AAAA", "high"),
                ),
            ),
            created_at=100,
        ),
        Item(
            "fco_1",
            Message(
                Role.TOOL,
                (ToolResultPart("call_0", (TextPart("42"), ImagePart("https://x/y.png"))),),
            ),
            created_at=100,
        ),
    )
    outputs = (
        Item("rs_1", Message(Role.ASSISTANT, (ReasoningPart("hmm", signature="sig"),)), 101),
        Item(
            "fc_1",
            Message(Role.ASSISTANT, (ToolCallPart("call_1", "add", '{"a": 1, "b": 2}'),)),
            101,
        ),
        Item("msg_out", Message(Role.ASSISTANT, (TextPart("héllo ✓"),), name="bot"), 101),
    )
    return inputs, outputs


def response(
    response_id: str = "resp_1",
    *,
    expires_at: int = 1000,
    previous: str | None = None,
    conversation: str | None = None,
    inputs: tuple[Item, ...] | None = None,
    outputs: tuple[Item, ...] | None = None,
) -> StoredResponse:
    return StoredResponse(
        id=response_id,
        created_at=100,
        expires_at=expires_at,
        model="qwen-plus",
        status=ResponseStatus.COMPLETED,
        settings=TurnSettings(instructions="be brief"),
        input_items=inputs if inputs is not None else (text_item(f"in_{response_id}", "hi"),),
        output_items=outputs
        if outputs is not None
        else (text_item(f"out_{response_id}", "hello", Role.ASSISTANT),),
        previous_response_id=previous,
        conversation_id=conversation,
    )


async def test_round_trip_of_every_part_type(store: Store) -> None:
    inputs, outputs = rich_items()
    record = StoredResponse(
        id="resp_rich",
        created_at=100,
        expires_at=1000,
        model="qwen3-max",
        status=ResponseStatus.INCOMPLETE,
        settings=TurnSettings(
            instructions="sys",
            tools=(
                ToolSpec(
                    "add",
                    "adds",
                    {"type": "object", "properties": {"a": {"type": "number"}}},
                    strict=True,
                ),
            ),
            builtin_tools=(
                WebSearch(options={"forced_search": True}),
                WebExtractor(),
                CodeInterpreter(),
                ImageSearch(BuiltinToolKind.IMAGE_SEARCH),
                FileSearch(("vs_1",), max_num_results=3),
                Mcp("docs", "https://mcp.example/sse", server_description="docs"),
            ),
            tool_choice=ToolChoice(ToolChoiceMode.REQUIRED, allowed=("add",)),
            parallel_tool_calls=False,
            temperature=0.5,
            top_p=0.9,
            max_output_tokens=64,
            thinking=ThinkingConfig(enabled=True, budget_tokens=128, effort="high"),
            metadata={"k": "v"},
        ),
        input_items=inputs,
        output_items=outputs,
        usage=Usage(10, 20, cached_tokens=4, cache_creation_tokens=2, reasoning_tokens=7),
        error=ResponseError("server_error", "boom"),
        incomplete_reason="max_output_tokens",
    )
    await store.save_response(record)
    assert await store.get_response(W, "resp_rich", now=500) == record
    assert await store.get_response(W, "resp_missing", now=500) is None


async def test_expiry_and_purge_really_delete(store: Store, url: str) -> None:
    await store.save_response(response("resp_old", expires_at=200))
    await store.save_response(response("resp_new", expires_at=300))
    assert await store.get_response(W, "resp_old", now=199) is not None
    assert await store.get_response(W, "resp_old", now=200) is None
    assert await store.get_response(W, "resp_old", now=250) is None
    assert await store.purge_expired(200) == 1
    assert await count(url, "responses") == 1
    assert await count(url, "response_items") == 2
    assert await store.purge_expired(200) == 0
    assert await store.purge_expired(10_000) == 1
    assert await count(url, "responses") == 0
    assert await count(url, "response_items") == 0


async def test_delete(store: Store, url: str) -> None:
    await store.save_response(response("resp_1"))
    assert await store.delete_response(W, "resp_1") is True
    assert await store.get_response(W, "resp_1", now=0) is None
    assert await store.delete_response(W, "resp_1") is False
    assert await count(url, "response_items") == 0


async def test_response_chain_order_and_expiry_extension(store: Store) -> None:
    await store.save_response(response("resp_a", expires_at=1000))
    await store.save_response(response("resp_b", expires_at=1500, previous="resp_a"))
    await store.save_response(response("resp_c", expires_at=3000, previous="resp_b"))
    chain = await store.response_chain(W, "resp_c", now=500)
    assert chain is not None
    assert [r.id for r in chain] == ["resp_a", "resp_b", "resp_c"]
    assert [r.input_items[0].id for r in chain] == ["in_resp_a", "in_resp_b", "in_resp_c"]
    assert all(r.expires_at == 3000 for r in chain)
    # The ancestors now outlive their own retention.
    assert await store.get_response(W, "resp_a", now=2000) is not None
    # An older descendant never shortens the chain's life.
    await store.save_response(response("resp_d", expires_at=100, previous="resp_c"))
    assert (await store.get_response(W, "resp_a", now=2999)) is not None
    chain = await store.response_chain(W, "resp_b", now=500)
    assert chain is not None
    assert [r.id for r in chain] == ["resp_a", "resp_b"]
    assert await store.response_chain(W, "resp_zzz", now=0) is None
    assert await store.response_chain(W, "resp_d", now=100) is None


async def test_response_chain_ends_at_a_missing_or_expired_ancestor(store: Store) -> None:
    await store.save_response(response("resp_a", expires_at=100))
    await store.save_response(response("resp_b", expires_at=1000, previous="resp_gone"))
    await store.save_response(response("resp_c", expires_at=1000, previous="resp_b"))
    chain = await store.response_chain(W, "resp_c", now=0)
    assert chain is not None
    assert [r.id for r in chain] == ["resp_b", "resp_c"]
    # A chain whose root is expired at read time is cut there.
    await store.save_response(response("resp_x", expires_at=50))
    await store.save_response(response("resp_y", expires_at=500, previous="resp_x"))
    chain = await store.response_chain(W, "resp_y", now=600)
    assert chain is None
    chain = await store.response_chain(W, "resp_y", now=400)
    assert chain is not None
    assert [r.id for r in chain] == ["resp_x", "resp_y"]


async def test_input_item_pagination(store: Store) -> None:
    inputs = tuple(text_item(f"it_{n}", str(n)) for n in range(5))
    await store.save_response(response("resp_p", inputs=inputs))

    async def ids(limit: int, order: Order, after: str | None = None) -> tuple[list[str], bool]:
        page = await store.list_input_items(
            W, "resp_p", limit=limit, order=order, after=after, now=NOW
        )
        assert page is not None
        return [i.id for i in page.items], page.has_more

    assert await ids(2, Order.ASC) == (["it_0", "it_1"], True)
    assert await ids(2, Order.ASC, "it_1") == (["it_2", "it_3"], True)
    assert await ids(2, Order.ASC, "it_3") == (["it_4"], False)
    assert await ids(5, Order.ASC) == ([f"it_{n}" for n in range(5)], False)
    assert await ids(2, Order.DESC) == (["it_4", "it_3"], True)
    assert await ids(2, Order.DESC, "it_3") == (["it_2", "it_1"], True)
    assert await ids(10, Order.DESC, "it_1") == (["it_0"], False)
    assert await ids(10, Order.ASC, "it_4") == ([], False)
    assert await ids(10, Order.ASC, "nope") == ([], False)
    # Output items are not input items.
    assert await ids(10, Order.ASC, "out_resp_p") == ([], False)
    # An unknown response has no page at all (nor has another workspace's).
    assert (
        await store.list_input_items(W, "resp_nope", limit=10, order=Order.ASC, after=None, now=NOW)
        is None
    )
    assert (
        await store.list_input_items(
            "other", "resp_p", limit=10, order=Order.ASC, after=None, now=NOW
        )
        is None
    )


async def test_conversation_crud(store: Store, url: str) -> None:
    conversation = Conversation("conv_1", 100, {"topic": "x"})
    items = (text_item("ci_1", "one"), text_item("ci_2", "two", Role.ASSISTANT))
    await store.create_conversation(conversation, items)
    assert await store.get_conversation(W, "conv_1") == conversation
    assert await store.conversation_items(W, "conv_1") == items
    assert await store.get_conversation(W, "conv_nope") is None
    assert await store.conversation_items(W, "conv_nope") is None

    updated = await store.update_conversation(W, "conv_1", {"topic": "y", "n": "1"})
    assert updated == Conversation("conv_1", 100, {"topic": "y", "n": "1"})
    assert await store.get_conversation(W, "conv_1") == updated
    assert await store.update_conversation(W, "conv_nope", {}) is None

    assert await store.delete_conversation(W, "conv_1") is True
    assert await store.get_conversation(W, "conv_1") is None
    assert await store.delete_conversation(W, "conv_1") is False
    assert await count(url, "conversation_items") == 0


async def test_conversation_items(store: Store) -> None:
    await store.create_conversation(Conversation("conv_1", 100), ())
    assert await store.conversation_items(W, "conv_1") == ()
    first = tuple(text_item(f"ci_{n}", str(n)) for n in range(3))
    assert await store.add_conversation_items(W, "conv_1", first) is True
    assert await store.add_conversation_items(W, "conv_1", (text_item("ci_3", "3"),)) is True
    assert await store.add_conversation_items(W, "conv_nope", first) is False
    with pytest.raises(InvalidParameter):
        await store.add_conversation_items(W, "conv_1", (text_item("ci_9", "9"), first[0]))
    with pytest.raises(InvalidParameter):
        await store.add_conversation_items(W, "conv_1", (text_item("ci_8", "8"),) * 2)
    all_items = await store.conversation_items(W, "conv_1")
    assert all_items is not None
    assert [i.id for i in all_items] == ["ci_0", "ci_1", "ci_2", "ci_3"]

    async def ids(limit: int, order: Order, after: str | None = None) -> tuple[list[str], bool]:
        page = await store.list_conversation_items(
            W, "conv_1", limit=limit, order=order, after=after
        )
        assert page is not None
        return [i.id for i in page.items], page.has_more

    assert await ids(3, Order.ASC) == (["ci_0", "ci_1", "ci_2"], True)
    assert await ids(3, Order.ASC, "ci_2") == (["ci_3"], False)
    assert await ids(2, Order.DESC) == (["ci_3", "ci_2"], True)
    assert await ids(2, Order.DESC, "ci_2") == (["ci_1", "ci_0"], False)
    assert await ids(2, Order.ASC, "unknown") == ([], False)
    assert (
        await store.list_conversation_items(W, "conv_x", limit=1, order=Order.ASC, after=None)
        is None
    )

    assert await store.get_conversation_item(W, "conv_1", "ci_1") == first[1]
    assert await store.get_conversation_item(W, "conv_1", "ci_404") is None
    assert await store.get_conversation_item(W, "conv_x", "ci_1") is None
    assert await store.delete_conversation_item(W, "conv_1", "ci_1") is True
    assert await store.delete_conversation_item(W, "conv_1", "ci_1") is False
    assert await store.get_conversation_item(W, "conv_1", "ci_1") is None
    assert await ids(10, Order.ASC) == (["ci_0", "ci_2", "ci_3"], False)
    # The same item id may live in two conversations.
    await store.create_conversation(Conversation("conv_2", 100), (first[0],))
    assert await store.get_conversation_item(W, "conv_2", "ci_0") == first[0]


async def test_save_response_appends_turn_to_conversation(store: Store) -> None:
    await store.create_conversation(Conversation("conv_1", 100), (text_item("ci_0", "ctx"),))
    inputs, outputs = rich_items()
    record = response("resp_c1", conversation="conv_1", inputs=inputs, outputs=outputs)
    await store.save_response(record)
    assert await store.get_response(W, "resp_c1", now=0) == record
    assert await store.conversation_items(W, "conv_1") == (
        text_item("ci_0", "ctx"),
        *inputs,
        *outputs,
    )


async def test_save_response_to_unknown_conversation_writes_nothing(store: Store, url: str) -> None:
    with pytest.raises(NotFound) as caught:
        await store.save_response(response("resp_x", conversation="conv_nope"))
    assert caught.value.message == "Conversation with id 'conv_nope' not found."
    assert await store.get_response(W, "resp_x", now=0) is None
    for table in TABLES:
        assert await count(url, table) == 0


async def test_save_response_is_atomic(store: Store, url: str) -> None:
    await store.create_conversation(Conversation("conv_1", 100), (text_item("in_dup", "x"),))
    # The turn's input item clashes with an item already in the conversation: no part of
    # the turn is written, not the response, its items, nor the other appended items.
    record = response("resp_1", conversation="conv_1", inputs=(text_item("in_dup", "y"),))
    with pytest.raises(InvalidParameter):
        await store.save_response(record)
    assert await store.get_response(W, "resp_1", now=0) is None
    assert await count(url, "response_items") == 0
    assert await store.conversation_items(W, "conv_1") == (text_item("in_dup", "x"),)
    # A duplicate response id is refused as a whole too.
    await store.save_response(response("resp_2"))
    with pytest.raises(Exception):  # noqa: B017 - the driver's IntegrityError
        await store.save_response(replace(response("resp_2"), conversation_id="conv_1"))
    assert await store.conversation_items(W, "conv_1") == (text_item("in_dup", "x"),)


async def test_migrations_are_idempotent_and_state_survives_reopening(url: str) -> None:
    first = await open_store(url)
    await first.create_conversation(Conversation("conv_1", 100), (text_item("ci_0", "a"),))
    await first.save_response(response("resp_1", conversation="conv_1"))
    await first.close()
    second = await open_store(url)
    third = await open_store(url)  # several processes open one database
    try:
        assert await second.get_response(W, "resp_1", now=0) == response(
            "resp_1", conversation="conv_1"
        )
        items = await third.conversation_items(W, "conv_1")
        assert items is not None and [i.id for i in items] == ["ci_0", "in_resp_1", "out_resp_1"]
        await second.save_response(response("resp_2", previous="resp_1", expires_at=5000))
        chain = await third.response_chain(W, "resp_2", now=0)
        assert chain is not None and [r.id for r in chain] == ["resp_1", "resp_2"]
    finally:
        await second.close()
        await third.close()
    assert await count(url, "alembic_version") == 1


async def test_concurrent_writers_on_one_database(url: str) -> None:
    """Two stores (as two server processes would) append turns to one conversation at once:
    nothing fails on a lock, and each turn's items stay together and in order."""
    first, second = await open_store(url), await open_store(url)
    try:
        await first.create_conversation(Conversation("conv_1", 100), ())

        async def turn(target: Store, n: int) -> None:
            inputs = (text_item(f"in_{n}", "q"),)
            outputs = tuple(text_item(f"out_{n}_{k}", "a", Role.ASSISTANT) for k in range(3))
            record = response(f"resp_{n}", conversation="conv_1", inputs=inputs, outputs=outputs)
            await target.save_response(record)

        await asyncio.gather(*(turn(first if n % 2 else second, n) for n in range(20)))
        items = await first.conversation_items(W, "conv_1")
        assert items is not None and len(items) == 80
        for start in range(0, 80, 4):
            n = items[start].id.removeprefix("in_")
            assert [i.id for i in items[start : start + 4]] == [
                f"in_{n}",
                *(f"out_{n}_{k}" for k in range(3)),
            ]
    finally:
        await first.close()
        await second.close()


async def test_sqlite_uses_wal_and_foreign_keys(tmp_path: Path) -> None:
    opened = await open_store(sqlite_url(tmp_path / "nested" / "dir"))
    try:
        assert (tmp_path / "nested" / "dir" / "openscope.db").exists()
        async with opened.engine.connect() as conn:
            mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
            keys = (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one()
            busy = (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one()
        assert (str(mode).lower(), keys) == ("wal", 1)
        assert busy >= 1000
    finally:
        await opened.close()


def test_sqlite_url(tmp_path: Path) -> None:
    assert sqlite_url(tmp_path) == f"sqlite+aiosqlite:///{tmp_path}/openscope.db"


async def test_one_workspace_never_sees_another_s_state(store: Store) -> None:
    """Every read, list, chain, change and delete is scoped by the owner's workspace."""
    await store.save_response(response("resp_a"))
    await store.create_conversation(Conversation("conv_a", 100), (text_item("ci_a", "one"),))
    other = "team-b"
    assert await store.get_response(other, "resp_a", now=NOW) is None
    assert await store.response_chain(other, "resp_a", now=NOW) is None
    assert not await store.delete_response(other, "resp_a")
    assert await store.get_conversation(other, "conv_a") is None
    assert await store.update_conversation(other, "conv_a", {"k": "v"}) is None
    assert await store.conversation_items(other, "conv_a") is None
    listed = await store.list_conversation_items(
        other, "conv_a", limit=10, order=Order.ASC, after=None
    )
    assert listed is None
    assert await store.get_conversation_item(other, "conv_a", "ci_a") is None
    assert not await store.add_conversation_items(other, "conv_a", (text_item("ci_b", "x"),))
    assert not await store.delete_conversation_item(other, "conv_a", "ci_a")
    assert not await store.delete_conversation(other, "conv_a")
    # and the owner still has all of it, unchanged
    assert await store.get_response(W, "resp_a", now=NOW) is not None
    conversation = await store.get_conversation(W, "conv_a")
    assert conversation is not None and conversation.metadata == {}
    items = await store.conversation_items(W, "conv_a")
    assert items is not None and [i.id for i in items] == ["ci_a"]


async def test_a_failed_turn_is_stored_but_not_appended_to_its_conversation(store: Store) -> None:
    await store.create_conversation(Conversation("conv_f", 100), ())
    failed = replace(
        response("resp_f", conversation="conv_f"),
        status=ResponseStatus.FAILED,
        error=ResponseError("internal_error", "boom"),
    )
    await store.save_response(failed)
    assert await store.get_response(W, "resp_f", now=NOW) is not None
    assert await store.conversation_items(W, "conv_f") == ()

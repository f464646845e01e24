"""Billing by Model Studio's cache rules: input tokens include the cached and cache-creation
ones; explicit cache creation at 125 %, explicit hits at 10 %, implicit hits at 20 %."""

import pytest

from openscope.core.billing import Price, billed_input_tokens, cost, usage_record
from openscope.core.events import Usage


def test_uncached_input_is_billed_in_full() -> None:
    assert billed_input_tokens(Usage(input_tokens=1000, output_tokens=10)) == 1000


def test_explicit_cache_creation_at_125_percent() -> None:
    usage = Usage(input_tokens=3019, cache_creation_tokens=2048, cache_type="ephemeral")
    assert billed_input_tokens(usage) == pytest.approx((3019 - 2048) + 2048 * 1.25)


def test_explicit_cache_hit_at_10_percent() -> None:
    usage = Usage(input_tokens=3019, cached_tokens=2048, cache_type="ephemeral")
    assert billed_input_tokens(usage) == pytest.approx(971 + 204.8)


def test_explicit_creation_and_hit_together() -> None:
    usage = Usage(
        input_tokens=5000, cached_tokens=2000, cache_creation_tokens=1000, cache_type="ephemeral"
    )
    assert billed_input_tokens(usage) == pytest.approx(2000 + 1000 * 1.25 + 2000 * 0.10)


def test_implicit_cache_hit_at_20_percent() -> None:
    usage = Usage(input_tokens=1000, cached_tokens=512)
    assert billed_input_tokens(usage) == pytest.approx(488 + 512 * 0.2)


def test_more_cache_tokens_than_input_never_bills_negative_uncached() -> None:
    usage = Usage(input_tokens=100, cached_tokens=200)
    assert billed_input_tokens(usage) == pytest.approx(200 * 0.2)


def test_cost_prices_billed_input_and_output_per_million() -> None:
    usage = Usage(
        input_tokens=1_000_000,
        output_tokens=500_000,
        reasoning_tokens=200_000,  # inside output: priced as output, not again
        cached_tokens=400_000,
        cache_type="ephemeral",
    )
    price = Price(input=2.0, output=8.0)
    billed = 600_000 + 400_000 * 0.1
    assert cost(usage, price) == pytest.approx(billed * 2.0 / 1e6 + 500_000 * 8.0 / 1e6)


def test_cost_without_a_price_is_zero() -> None:
    assert cost(Usage(input_tokens=10, output_tokens=10), None) == 0.0


def test_usage_record_carries_the_billing() -> None:
    usage = Usage(input_tokens=2000, output_tokens=100, cached_tokens=1000)
    record = usage_record(
        request_id="r",
        created_at_ms=1,
        workspace="w",
        key_id="k",
        model="qwen-plus",
        api="chat",
        status="ok",
        usage=usage,
        price=Price(1.0, 2.0),
        builtin_tools={"web_search": 1},
    )
    assert record.billed_input_tokens == pytest.approx(1200)
    assert record.cost == pytest.approx((1200 * 1.0 + 100 * 2.0) / 1e6)
    assert record.usage == usage
    assert record.builtin_tools == {"web_search": 1}

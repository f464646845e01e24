"""The rate-limit headers' figures: Go durations, Anthropic's RFC 3339 resets, and the retry
headers of a refusal, exactly, including for waits that carry a clock's float noise (a
bucket's TAT minus now is never a round number on a real clock)."""

from __future__ import annotations

import pytest

from openscope.core.errors import InvalidParameter, Overloaded, RateLimited
from openscope.core.quota import Allowance
from openscope.protocols.ratelimit_headers import (
    anthropic_limit_headers,
    error_headers,
    go_duration,
    openai_limit_headers,
)

WALL = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@pytest.mark.parametrize(
    ("seconds", "printed"),
    [
        (0.0, "0s"),  # Go prints a zero duration as "0s"
        (0.0004, "1ms"),  # rounded up: never a reset earlier than the bucket's
        (0.1, "100ms"),
        (1.1 - 1.0, "100ms"),  # 0.10000000000000009
        (0.9999, "1s"),  # 1000ms is a second
        (1.5, "1.5s"),
        (3.6000000000000085, "3.6s"),
        (3.6004, "3.601s"),
        (60.0, "1m0s"),
        (60.00000000001, "1m0s"),
        (81.0, "1m21s"),
        (3600.0, "1h0m0s"),
        (3661.5, "1h1m1.5s"),
        (86_400.0, "24h0m0s"),
    ],
)
def test_go_duration(seconds: float, printed: str) -> None:
    assert go_duration(seconds) == printed


def test_openai_limit_headers() -> None:
    assert openai_limit_headers(Allowance(600, 599, 0.1), Allowance(60, 0, 81.0)) == {
        "x-ratelimit-limit-requests": "600",
        "x-ratelimit-remaining-requests": "599",
        "x-ratelimit-reset-requests": "100ms",
        "x-ratelimit-limit-tokens": "60",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "1m21s",
    }
    assert openai_limit_headers(None, Allowance(60, 0, 81.0)) == {
        "x-ratelimit-limit-tokens": "60",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "1m21s",
    }


def test_anthropic_limit_headers_reset_at_whole_seconds() -> None:
    headers = anthropic_limit_headers(Allowance(600, 599, 0.1), Allowance(60, 0, 81.0), now=WALL)
    assert headers == {
        "anthropic-ratelimit-requests-limit": "600",
        "anthropic-ratelimit-requests-remaining": "599",
        "anthropic-ratelimit-requests-reset": "2026-01-01T00:00:01Z",
        "anthropic-ratelimit-tokens-limit": "60",
        "anthropic-ratelimit-tokens-remaining": "0",
        "anthropic-ratelimit-tokens-reset": "2026-01-01T00:01:21Z",
    }
    # a reset that is due now is now, not a second later
    exact = anthropic_limit_headers(Allowance(1, 0, 60.0000001), None, now=WALL)
    assert exact["anthropic-ratelimit-requests-reset"] == "2026-01-01T00:01:00Z"


def test_a_refusal_says_when_to_come_back() -> None:
    refused = RateLimited(
        "no",
        retry_after=3.6000000000000085,  # 82.8 - 79.2 in floats: 3.6 s, not 3.601
        code="insufficient_quota",
        requests=Allowance(600, 599, 0.1),
        tokens=Allowance(50, 47, 3.6000000000000085),
    )
    assert error_headers(refused, openai_limit_headers) == {
        "retry-after": "4",
        "retry-after-ms": "3600",
        "x-ratelimit-limit-requests": "600",
        "x-ratelimit-remaining-requests": "599",
        "x-ratelimit-reset-requests": "100ms",
        "x-ratelimit-limit-tokens": "50",
        "x-ratelimit-remaining-tokens": "47",
        "x-ratelimit-reset-tokens": "3.6s",
    }


def test_a_spent_budget_says_do_not_retry() -> None:
    refused = RateLimited("no", retry_after=0.0004, should_retry=False)
    assert error_headers(refused, openai_limit_headers) == {
        "retry-after": "1",
        "retry-after-ms": "1",
        "x-should-retry": "false",
    }


def test_other_errors_carry_only_their_retry_hint() -> None:
    assert error_headers(Overloaded("busy", retry_after=2.5), anthropic_limit_headers) == {
        "retry-after": "3",
        "retry-after-ms": "2500",
    }
    assert error_headers(InvalidParameter("bad"), openai_limit_headers) == {}

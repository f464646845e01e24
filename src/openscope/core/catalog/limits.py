"""Model Studio's default rate limits per model (its rate-limit page's table; region and
time dependent, so only a seed that the `[platform.limits]` settings override).

The pattern the table shows: a stable name gets the high limits, its `-latest` and dated
snapshots 60 RPM and 100,000 TPM."""

from __future__ import annotations

import re

from openscope.core.catalog.spec import ModelSpec
from openscope.core.quota import RateLimits

_SNAPSHOT = re.compile(r"-(latest|\d{4}-\d{2}-\d{2})$")
SNAPSHOT_LIMITS = RateLimits(rpm=60, tpm=100_000)
STABLE_LIMITS = RateLimits(rpm=600, tpm=1_000_000)

# Names (or families) the table gives other limits than the pattern's.
BY_NAME = {
    "qwen-turbo": RateLimits(rpm=600, tpm=5_000_000),
    "qwq-plus": SNAPSHOT_LIMITS,
    "qvq-max": SNAPSHOT_LIMITS,
    "qwen-vl-max": RateLimits(rpm=1_200, tpm=1_000_000),
    "qwen-vl-plus": RateLimits(rpm=1_200, tpm=1_000_000),
    "qwen2.5-14b-instruct-1m": RateLimits(rpm=1_200, tpm=5_000_000),
    "qwen2.5-7b-instruct-1m": RateLimits(rpm=1_200, tpm=5_000_000),
    "qwen2-72b-instruct": RateLimits(rpm=60, tpm=150_000),
    "qwen1.5-110b-chat": RateLimits(rpm=10, tpm=20_000),
}

# Families that are not Model Studio's: no default limits.
NOT_MODEL_STUDIO = frozenset({"smollm2"})


def model_studio_limits(spec: ModelSpec) -> RateLimits:
    """The account-level limits Model Studio applies to `spec` by default."""
    if spec.family in NOT_MODEL_STUDIO:
        return RateLimits()
    if spec.name in BY_NAME:
        return BY_NAME[spec.name]
    if _SNAPSHOT.search(spec.name):
        return SNAPSHOT_LIMITS
    return STABLE_LIMITS

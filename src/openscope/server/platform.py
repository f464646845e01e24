"""The platform's services as the settings describe them: the key directory, the rate
limiter (in this process, or shared through Redis) and the account-level limits."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from opentelemetry.trace import Tracer

from openscope.core.catalog import Catalog, ModelSpec, model_studio_limits
from openscope.core.quota import RateLimiter, RateLimits, limits_for
from openscope.engine.admission import AccountLimits, Admissions, OnRefusal
from openscope.ratelimit import InProcessLimiter, RedisLimiter, ShareOf
from openscope.server.keys import KeyDirectory, load_pepper
from openscope.settings import PlatformSettings, Settings
from openscope.store import Store

log = logging.getLogger("openscope.platform")


def account_limits(platform: PlatformSettings, catalog: Catalog) -> AccountLimits:
    """Each model's account-level limits: the settings' over Model Studio's defaults for
    the catalogue's models (the name a client calls, an alias included). A model the
    catalogue does not describe (`spec` None: an embedding model) has the settings' only."""
    table: Mapping[str, RateLimits] = {
        model: limit.limits() for model, limit in platform.limits.items()
    }

    def limits(model: str, spec: ModelSpec | None) -> RateLimits:
        catalogued = spec is not None and catalog.get(spec.name) is spec
        base = (
            model_studio_limits(spec)
            if spec is not None and platform.catalogue_limits and catalogued
            else RateLimits()
        )
        return limits_for(table, model).over(base)

    return limits


def build_limiter(platform: PlatformSettings) -> RateLimiter:
    if platform.redis_url is None:
        if platform.replicas is not None and platform.replicas > 1:
            # Each replica would otherwise count every limit in full on its own, letting
            # `replicas` times the limit through: it counts against its share instead.
            log.warning(
                "Rate limits: platform.replicas = %d and no platform.redis_url: each replica "
                "counts on its own against 1/%d of every limit (set redis_url to count "
                "the whole limits across replicas)",
                platform.replicas,
                platform.replicas,
            )
            return ShareOf(InProcessLimiter(), platform.replicas, while_away=False)
        return InProcessLimiter()
    import redis.asyncio
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    # Fail fast when Redis is gone: the limiter's fallback (or its refusal) answers then,
    # instead of every call waiting out redis-py's retries. And never retry: a script that
    # ran but whose answer was lost would count its call twice.
    client = redis.asyncio.from_url(
        platform.redis_url,
        socket_connect_timeout=0.5,
        socket_timeout=1.0,
        retry=Retry(NoBackoff(), 0),
    )
    fallback = None
    if platform.redis_failure == "degraded":
        assert platform.replicas is not None  # the settings require it
        fallback = ShareOf(InProcessLimiter(), platform.replicas, while_away=True)
    return RedisLimiter(client, fallback=fallback, fail_closed=platform.redis_failure == "closed")


def build_limits(
    platform: PlatformSettings,
    catalog: Catalog,
    on_refusal: OnRefusal | None = None,
    tracer: Tracer | None = None,
) -> Admissions:
    """The admissions every API's calls go through (generation and embeddings alike)."""
    return Admissions(
        build_limiter(platform),
        account_limits(platform, catalog),
        implied_per_second=platform.implied_per_second,
        on_refusal=on_refusal,
        tracer=tracer,
    )


def build_key_directory(settings: Settings, store: Store) -> KeyDirectory:
    platform = settings.platform
    return KeyDirectory(
        store,
        load_pepper(platform.key_pepper, settings.data_dir),
        configured=settings.api_keys,
        admin=platform.admin_keys,
        cache_seconds=platform.auth_cache_seconds,
        stored=platform.enabled,
    )

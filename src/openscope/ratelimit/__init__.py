"""Rate limiters behind `openscope.core.quota.RateLimiter`: GCRA buckets per scope (RPM, RPS,
TPM, TPS) and a count of calls in flight, admitted all-or-nothing across scopes and settled to
the tokens a call used. `InProcessLimiter` keeps its state in memory (one replica);
`RedisLimiter` keeps it in Redis, shared by every replica."""

from .memory import InProcessLimiter
from .redis import RedisLimiter
from .shared import ShareOf

__all__ = ["InProcessLimiter", "RedisLimiter", "ShareOf"]

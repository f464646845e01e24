"""The prefix cache's bookkeeping, without a model."""

from openscope.backends.llamacpp.prefix_cache import PrefixCache, common_prefix


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def cache(budget: int = 10_000, clock: Clock | None = None) -> PrefixCache:
    return PrefixCache(range(100, 104), budget, explicit_ttl=300.0, clock=clock or Clock())


def test_common_prefix() -> None:
    assert common_prefix([1, 2, 3], [1, 2, 4]) == 2
    assert common_prefix([1, 2], [1, 2, 3]) == 2
    assert common_prefix([], [1]) == 0


def test_implicit_hit_needs_256_tokens_and_leaves_the_last_token_to_compute() -> None:
    prefixes = cache()
    prompt = list(range(300))
    assert prefixes.place(prompt) is not None
    hit = prefixes.lookup(prompt, explicit=False)
    assert hit is not None and hit.reuse == hit.reported == 299
    assert prefixes.lookup(list(range(255)) + [-1] * 50, explicit=False) is None
    longer = prefixes.lookup(list(range(280)) + [-1] * 10, explicit=False)
    assert longer is not None and longer.reported == 280


def test_short_prompts_are_not_kept() -> None:
    assert cache().place(list(range(200))) is None


def test_explicit_entries_serve_explicit_requests_at_their_marker_only() -> None:
    clock = Clock()
    prefixes = cache(clock=clock)
    prompt = list(range(1500))
    assert prefixes.place(prompt, marked=1200) is not None
    assert prefixes.lookup(prompt, explicit=True, marks=(1100,)) is None
    hit = prefixes.lookup(prompt, explicit=True, marks=(1100, 1200))
    assert hit is not None and hit.reported == 1200 and hit.reuse == 1499
    # an implicit-only entry never serves an explicit request
    other = cache(clock=clock)
    other.place(prompt)
    assert other.lookup(prompt, explicit=True, marks=(1200,)) is None


def test_explicit_life_is_reset_by_each_hit_and_then_runs_out() -> None:
    clock = Clock()
    prefixes = cache(clock=clock)
    prompt = list(range(1500))
    prefixes.place(prompt, marked=1200)
    clock.now = 250.0
    assert prefixes.lookup(prompt, explicit=True, marks=None) is not None  # resets the life
    clock.now = 500.0
    assert prefixes.lookup(prompt, explicit=True, marks=None) is not None
    clock.now = 801.0
    assert prefixes.lookup(prompt, explicit=True, marks=None) is None
    # the KV is still there for the implicit cache
    assert prefixes.lookup(prompt, explicit=False) is not None


def test_a_marker_may_ask_for_a_longer_life_after_each_use() -> None:
    clock = Clock()
    prefixes = cache(clock=clock)
    prompt = list(range(1500))
    prefixes.place(prompt, marked=1200, ttl=3600.0)
    clock.now = 3000.0
    assert prefixes.lookup(prompt, explicit=True, marks=None) is not None  # resets 1 h
    clock.now = 6500.0
    assert prefixes.lookup(prompt, explicit=True, marks=None) is not None
    clock.now = 10_101.0
    assert prefixes.lookup(prompt, explicit=True, marks=None) is None


def test_a_shorter_ttl_does_not_cut_the_servers_life() -> None:
    clock = Clock()
    prefixes = cache(clock=clock)
    prompt = list(range(1500))
    prefixes.place(prompt, marked=1200, ttl=60.0)
    clock.now = 299.0
    assert prefixes.lookup(prompt, explicit=True, marks=None) is not None


def test_a_hit_that_asks_for_longer_extends_the_life() -> None:
    clock = Clock()
    prefixes = cache(clock=clock)
    prompt = list(range(1500))
    prefixes.place(prompt, marked=1200)  # 5 minutes
    clock.now = 100.0
    assert prefixes.lookup(prompt, explicit=True, marks=None, ttl=3600.0) is not None
    clock.now = 3000.0  # past 5 minutes, within the hour
    assert prefixes.lookup(prompt, explicit=True, marks=None) is not None


def test_explicit_entries_need_1024_tokens() -> None:
    assert cache().place(list(range(1500)), marked=1000) is None


def test_least_recently_used_goes_first_under_the_budget() -> None:
    clock = Clock()
    prefixes = cache(budget=1000, clock=clock)
    a, b, c = ([k] * 400 for k in (1, 2, 3))
    first = prefixes.place(a)
    clock.now = 1
    prefixes.place(b)
    clock.now = 2
    assert prefixes.lookup(a, explicit=False) is not None  # a is now the most recent
    clock.now = 3
    placement = prefixes.place(c)
    assert placement is not None and first is not None
    assert prefixes.used_tokens <= 1000
    assert prefixes.lookup(b, explicit=False) is None
    assert prefixes.lookup(a, explicit=False) is not None


def test_a_longer_sequence_supersedes_its_own_prefix() -> None:
    prefixes = cache()
    first = prefixes.place(list(range(300)))
    second = prefixes.place(list(range(400)))
    assert first is not None and second is not None
    assert first.seq_id in second.evicted
    assert prefixes.entries == 1


def test_sequence_ids_run_out_before_the_budget() -> None:
    prefixes = cache()
    placed = [prefixes.place([k] * 300) for k in range(6)]
    assert all(p is not None for p in placed)
    assert prefixes.entries == 4
    assert len({p.seq_id for p in placed if p}) == 4

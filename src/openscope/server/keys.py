"""Which caller a presented API key is: the keys from settings (the `default` workspace),
the admin keys, and the keys the platform created (stored as a digest). What a replica
read about a stored key it trusts for `cache_seconds` at most, so a revocation reaches
every replica within that; the cache is bounded, and unknown keys are remembered for as
long, so a flood of made-up keys costs one lookup each per window, not one per request."""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path

from openscope.core import accounts
from openscope.core.accounts import ApiKey, Scope, Workspace
from openscope.core.principal import DEFAULT_WORKSPACE, Principal
from openscope.store import Store

log = logging.getLogger("openscope.keys")

PEPPER_FILE = "key_pepper"
CACHE_ENTRIES = 10_000
LAST_USED_GRANULARITY = 60  # seconds: a key's last-used time is written at most this often

# The operator's own keys from the settings: call, keep state, read the metrics.
CONFIGURED_KEY_SCOPES = frozenset({Scope.INFERENCE, Scope.METRICS})
ADMIN_KEY_SCOPES = frozenset(Scope)


def configured_key_id(pepper: bytes, key: str) -> str:
    """A name for a configured key that logs and records may show: a prefix of its digest
    under the pepper (under a public constant, a weak key could be guessed offline)."""
    return "key-" + accounts.digest(pepper, key)[:12]


def load_pepper(configured: str | None, data_dir: Path) -> bytes:
    """The configured pepper, else the one in the data dir, made there on first start
    (by whichever process gets there first: the others read the one it wrote)."""
    if configured:
        return configured.encode()
    path = data_dir / PEPPER_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        # Written under a temporary name and moved: a reader never sees half of it.
        os.close(fd)
        staged = path.with_suffix(".new")
        # made readable by its owner alone before the secret is in it
        with os.fdopen(os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(secrets.token_urlsafe(32))
        staged.replace(path)
        log.info("generated a key pepper in %s", path)
    for _ in range(100):
        pepper = path.read_text().strip()
        if pepper:
            return pepper.encode()
        time.sleep(0.01)  # another process is writing it
    raise RuntimeError(f"{path} is empty")


# Scopes only a key of the default workspace may hold: an admin key manages every
# workspace, so one owned by a sub-workspace would reach past it.
DEFAULT_WORKSPACE_SCOPES = frozenset({Scope.ADMIN})


def scopes_refused(scopes: Iterable[str], workspace: str) -> frozenset[str]:
    """Which of `scopes` a key of `workspace` may not hold."""
    if workspace == DEFAULT_WORKSPACE:
        return frozenset()
    return DEFAULT_WORKSPACE_SCOPES & frozenset(scopes)


def principal_of_key(key: ApiKey, workspace: Workspace) -> Principal:
    """The caller a stored key is: its workspace's models narrowed by its own, and its
    scopes less any its workspace may not hold (a key stored before that rule held, or
    written to the database by hand, does not keep them)."""
    models = workspace.models
    if key.models is not None:
        models = key.models if models is None else key.models & models
    return Principal(
        key_id=key.id,
        workspace=workspace.id,
        scopes=key.scopes - scopes_refused(key.scopes, workspace.id),
        models=models,
        key_limits=key.limits,
        workspace_limits=workspace.limits,
    )


class KeyDirectory:
    def __init__(
        self,
        store: Store,
        pepper: bytes,
        *,
        configured: Iterable[str] = (),
        admin: Iterable[str] = (),
        cache_seconds: float = 1.0,
        stored: bool = True,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._stored = stored  # whether keys made by the admin API exist at all
        self.digest = accounts.Digester(pepper)

        def static(key: str, scopes: frozenset[Scope]) -> tuple[bytes, Principal]:
            return key.encode(), Principal(
                configured_key_id(pepper, key), DEFAULT_WORKSPACE, scopes
            )

        self._static = [static(key, CONFIGURED_KEY_SCOPES) for key in configured] + [
            static(key, ADMIN_KEY_SCOPES) for key in admin
        ]
        self._cache: OrderedDict[str, tuple[float, Principal | None]] = OrderedDict()
        self._looking: dict[str, asyncio.Future[Principal | None]] = {}
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._wall = wall_clock
        self._used: dict[str, int] = {}  # key id -> last use not yet written
        self._warned: set[str] = set()  # key ids whose refused scopes were logged
        self._written: dict[str, int] = {}  # key id -> last use written

    async def principal(self, key: str) -> Principal | None:
        """The caller `key` is, or None for a key that is unknown, revoked or expired."""
        static = self._static_principal(key.encode())
        if static is not None or not self._stored:
            return static
        key_digest = self.digest(key)
        now = self._clock()
        cached = self._cache.get(key_digest)
        if cached is not None and cached[0] > now:
            self._cache.move_to_end(key_digest)
            return cached[1]
        # One lookup per key at a time: the calls that find the entry expired while it is
        # read again wait for that read instead of each making its own.
        looking = self._looking.get(key_digest)
        if looking is None:
            looking = asyncio.ensure_future(self._refresh(key_digest, now))
            self._looking[key_digest] = looking
            looking.add_done_callback(lambda _: self._looking.pop(key_digest, None))
        return await asyncio.shield(looking)

    async def _refresh(self, key_digest: str, now: float) -> Principal | None:
        principal = await self._look_up(key_digest)
        self._remember(key_digest, now + self._cache_seconds, principal)
        if principal is not None:
            self._note_use(principal.key_id)
        return principal

    def _static_principal(self, given: bytes) -> Principal | None:
        # compare against every key so timing says nothing about which one came close
        found = None
        for key, principal in self._static:
            if hmac.compare_digest(given, key):
                found = principal
        return found

    async def _look_up(self, key_digest: str) -> Principal | None:
        found = await self._store.key_by_digest(key_digest)
        if found is None:
            return None
        key, workspace = found
        if not key.usable(int(self._wall())):
            return None
        refused = scopes_refused(key.scopes, workspace.id)
        if refused and key.id not in self._warned:
            # once per key and replica, not on every lookup the cache lets through
            self._warned.add(key.id)
            log.warning(
                "API key %s of workspace %s holds scopes only a key of the default workspace "
                "may hold (%s): they are ignored; revoke it and create a key in the default "
                "workspace",
                key.id,
                workspace.id,
                ", ".join(sorted(refused)),
            )
        return principal_of_key(key, workspace)

    def _remember(self, key_digest: str, until: float, principal: Principal | None) -> None:
        self._cache[key_digest] = (until, principal)
        self._cache.move_to_end(key_digest)
        while len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)

    def forget(self) -> None:
        """Drop everything cached (this replica's own revocations take effect at once)."""
        self._cache.clear()

    def _note_use(self, key_id: str) -> None:
        now = int(self._wall())
        if now - self._written.get(key_id, 0) >= LAST_USED_GRANULARITY:
            self._used[key_id] = now

    async def write_last_used(self) -> None:
        """Write the last-used times gathered since the last call, in one transaction."""
        used, self._used = self._used, {}
        try:
            await self._store.mark_keys_used(used)
        except BaseException:
            self._used = used | self._used  # kept for the next round (newer times win)
            raise
        self._written.update(used)

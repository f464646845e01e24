"""Workspaces and API keys as the platform keeps them, and how a key is made, digested and
shown. A key is `sk-` and 32 base62 characters (about 190 random bits); only its digest,
HMAC-SHA256 under a server-side pepper, is ever stored, so a copy of the database gives
no usable key without the pepper."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass, field
from enum import StrEnum

from openscope.core.quota import RateLimits

KEY_PREFIX = "sk-"
KEY_LENGTH = 32  # base62 characters after the prefix: 32 * log2(62) ~ 190 bits
BASE62 = string.digits + string.ascii_letters
WORKSPACE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class Scope(StrEnum):
    """What a key may do."""

    INFERENCE = "inference"  # call the models, keep and read stored responses and conversations
    ADMIN = "admin"  # the admin API: keys, workspaces, limits, usage
    METRICS = "metrics"  # read /metrics


DEFAULT_SCOPES = frozenset({Scope.INFERENCE})


def new_key() -> str:
    return KEY_PREFIX + "".join(secrets.choice(BASE62) for _ in range(KEY_LENGTH))


def new_key_id() -> str:
    return "key-" + secrets.token_hex(8)


def digest(pepper: bytes, key: str) -> str:
    """HMAC-SHA256 of the key under the pepper, in hex (see `Digester` for many keys)."""
    return Digester(pepper)(key)


class Digester:
    """`digest` under one pepper, with the keyed state made once: every request's key is
    digested, and setting up the HMAC's key costs more than hashing a short key."""

    def __init__(self, pepper: bytes) -> None:
        self._keyed = hmac.new(pepper, digestmod=hashlib.sha256)

    def __call__(self, key: str) -> str:
        mac = self._keyed.copy()
        mac.update(key.encode())
        return mac.hexdigest()


def redact(key: str) -> str:
    """What may be shown of a key: its first and last four characters after the prefix."""
    body = key.removeprefix(KEY_PREFIX)
    return f"{KEY_PREFIX}{body[:4]}...{body[-4:]}"


LimitTable = dict[str, RateLimits]  # model, or "*", -> limits


@dataclass(frozen=True, slots=True)
class Workspace:
    id: str
    name: str
    created_at: int
    models: frozenset[str] | None = None  # the models its keys may call; None: every one
    limits: LimitTable = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A key as stored: everything but the key itself."""

    id: str
    name: str
    workspace: str
    redacted: str
    created_at: int
    scopes: frozenset[str] = DEFAULT_SCOPES
    models: frozenset[str] | None = None  # narrower than its workspace's; None: the same
    limits: LimitTable = field(default_factory=dict)
    last_used_at: int | None = None
    expires_at: int | None = None
    revoked_at: int | None = None

    def usable(self, now: int) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

"""The fetcher's two errors: every way a fetch can go wrong is one of them.

`FetchRefused`: the policy forbade it (a scheme, an address, a content type); retrying the same
URL cannot help. `FetchFailed`: the attempt did not succeed (DNS, connection, timeout, an HTTP
error status, too many redirects). Both carry a `reason` written for the model to read.
"""

from __future__ import annotations


class FetchError(Exception):
    """Base of the pair, so the tool loop can catch both in one clause."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FetchRefused(FetchError):
    """The fetch policy refused the URL, an address it resolves to, or the response's type."""


class FetchFailed(FetchError):
    """The fetch was allowed but did not produce a page."""

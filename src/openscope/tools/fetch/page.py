"""`FetchedPage`: what a successful fetch returns."""

from __future__ import annotations

import codecs
import contextlib
from dataclasses import dataclass


@dataclass(frozen=True)
class FetchedPage:
    url: str  # as asked for
    final_url: str  # after the redirects
    status: int
    content_type: str  # the media type alone, lower case ("text/html")
    charset: str | None  # from the Content-Type header, when it names one
    body: bytes  # at most the policy's max_bytes
    truncated: bool  # the body went on past max_bytes and was cut there
    redirects: tuple[str, ...] = ()  # each URL redirected to, in order

    def text(self) -> str:
        """The body decoded with the declared charset (UTF-8 when none or an unknown one)."""
        encoding = "utf-8"
        if self.charset:
            with contextlib.suppress(LookupError):  # an unknown charset: keep UTF-8
                encoding = codecs.lookup(self.charset).name
        return self.body.decode(encoding, errors="replace")

"""`NetworkList`: the addresses or CIDRs a fetcher may reach despite its SSRF guard, as
settings write them (`allow_networks` of the web extractor and of the image fetch)."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import AfterValidator


def _parsed(entries: list[str]) -> list[str]:
    for entry in entries:
        try:
            ipaddress.ip_network(entry.strip(), strict=True)
        except ValueError as error:
            raise ValueError(f"{entry!r} is not an address or network: {error}") from None
    return entries


NetworkList = Annotated[list[str], AfterValidator(_parsed)]

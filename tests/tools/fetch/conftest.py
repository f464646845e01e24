from collections.abc import AsyncIterator

import pytest

from tests.tools.fetch.fakes import PageServer, page_server


@pytest.fixture
async def server() -> AsyncIterator[PageServer]:
    async with page_server() as running:
        yield running

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.tools.web_search.fake_searxng import FakeSearxng


@pytest.fixture
async def searxng() -> AsyncIterator[FakeSearxng]:
    fake = FakeSearxng()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()

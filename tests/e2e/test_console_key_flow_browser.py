"""A key's whole life across both pages of the console, in a real browser (Debian's chromium
driven by Playwright) against one real `openscope serve` with the platform on: the operator
view creates a key and shows its secret once; the playground, in another tab of the same
browser, chats with that key and sees the answer stream; the operator view's usage counts
the request for that key; the operator view revokes it; the playground's next message gets
a 401 that the page shows in words.

The browser and the screenshot folder are tests/e2e/conftest.py's fixtures, the playground's steps
the playground test's helpers. The server is started as the operator test's is (the admin key
in its environment) but serves the paced echo, so the stream is seen growing.
Screenshots go to $OPENSCOPE_SCREENSHOTS.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Server, serving
from tests.e2e.test_console_browser import (
    PACE,
    SLOW,
    choose,
    send,
    send_and_see_it_stream,
    use_key,
)
from tests.e2e.test_console_operator_browser import (
    ADMIN_KEY,
    CHROMIUM,
    USAGE_WAIT_SECONDS,
    sign_in,
)

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the Python package playwright is not installed"
)
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
]
Page = sync_api.Page
expect = sync_api.expect

CONFIG = f"""
[backends.slow]
type = "scripted"
delay = {PACE}

[routes]
"{SLOW}" = "slow"
"""
KEY_NAME = "playground-key"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(
        tmp_path_factory.mktemp("console-key-flow"),
        config=CONFIG,
        alias=f"qwen-plus={SLOW}",
        env={"OPENSCOPE_ADMIN_KEY": ADMIN_KEY},
    ) as running:
        yield running


def create_key(operator: Page) -> tuple[str, str]:
    """Creates KEY_NAME in the operator view; returns its id and its secret, read once."""
    operator.locator("#key-create").get_by_label("Name").fill(KEY_NAME)
    operator.get_by_role("button", name="Create key").click()
    # visible first: the box's text is in the page, hidden, before any key is made
    expect(operator.locator("#secret")).to_be_visible()
    expect(operator.locator("#secret")).to_contain_text("shown once")
    expect(operator.locator("#secret-value")).to_have_value(re.compile(r"^sk-"))
    secret = operator.locator("#secret-value").input_value()
    row = operator.locator("#keys tbody tr", has_text=KEY_NAME)
    expect(row).to_contain_text("active")
    key_id = row.get_attribute("data-key-id")
    assert key_id
    operator.get_by_role("button", name="I have saved it").click()
    expect(operator.locator("#secret")).to_be_hidden()
    return key_id, secret


def usage_counted(operator: Page, key_id: str) -> None:
    """Refreshes usage until it counts a request, then shows the key's own share: one."""
    summary = operator.locator("#usage-summary")
    deadline = time.monotonic() + USAGE_WAIT_SECONDS
    while True:
        operator.get_by_role("button", name="Refresh usage").click()
        operator.wait_for_timeout(500)
        if int(summary.get_attribute("data-requests") or 0) >= 1:
            break
        assert time.monotonic() < deadline, f"no usage shown: {summary.inner_text()}"
    operator.locator("#usage-which").select_option(label=f"{KEY_NAME} ({key_id})")
    expect(summary).to_contain_text("1 request (ok 1; 0 failed or refused)")
    expect(summary).to_contain_text(f"for {KEY_NAME}")
    assert operator.locator("#chart-requests svg rect.s-ok").count() == 1


def test_a_key_made_in_the_operator_view_works_in_the_playground_until_revoked(
    server: Server,
    browser: Any,
    screenshots: Path,
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
    context.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    operator = context.new_page()
    operator.on("pageerror", lambda error: errors.append(f"operator: {error}"))
    operator.goto(f"{server.root_url}/console/operator/")
    sign_in(operator, ADMIN_KEY)
    expect(operator.locator("#admin")).to_be_visible()
    key_id, secret = create_key(operator)

    # the playground, a second tab of the same browser: session storage is per tab
    playground = context.new_page()
    playground.on("pageerror", lambda error: errors.append(f"playground: {error}"))
    playground.goto(f"{server.root_url}/")
    use_key(playground, secret)
    assert secret not in playground.url
    choose(playground, model=SLOW)
    turn = send_and_see_it_stream(playground, "hello from a key made in the operator view")
    expect(turn.locator(".turn-error")).to_be_hidden()
    expect(playground.locator("#error")).to_be_hidden()
    playground.screenshot(path=screenshots / "playground-with-new-key.png", full_page=True)

    # back in the operator view: the request is counted for that key
    operator.bring_to_front()
    usage_counted(operator, key_id)

    # revoke it (asked twice)
    row = operator.locator("#keys tbody tr", has_text=KEY_NAME)
    row.get_by_role("button", name=f"Revoke key {KEY_NAME}").click()
    operator.get_by_role("button", name=re.compile(f"Confirm: revoke key {KEY_NAME}")).click()
    expect(row).to_contain_text("revoked")

    # the playground's next message: a 401, said in words in the turn and in the banner
    playground.bring_to_front()
    refused = send(playground, "and once more after the revocation")
    turn_error = refused.locator(".turn-error")
    expect(turn_error).to_be_visible()
    expect(turn_error).to_contain_text("Error 401")
    expect(turn_error).to_contain_text("Incorrect API key")
    banner = playground.locator("#error")
    expect(banner).to_be_visible()
    expect(banner).to_have_text(re.compile(r"^401\b.*Incorrect API key"))
    # the page points at the key to change
    expect(playground.get_by_label("API key")).to_be_focused()
    playground.screenshot(path=screenshots / "playground-revoked-key.png", full_page=True)

    context.close()
    assert errors == [], "the pages raised errors"

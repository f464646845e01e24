"""Contrast, measured in a real browser: every piece of visible text in the playground and
the operator view, in the light and the dark theme, reaches WCAG 2's AA ratio against the
background it is drawn on (4.5:1; 3:1 for large text), after a conversation and the
operator's tables have filled the pages."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Server, serving
from tests.e2e.test_console_browser import CHROMIUM, TIMEOUT_MS, WEATHER, send, sync_api

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
]
expect = sync_api.expect

MODEL = "scripted-echo"
CONFIG = f"""
[backends.scripted]
type = "scripted"

[routes]
"{MODEL}" = "scripted"
"""
ADMIN_KEY = f"sk-admin-{secrets.token_hex(8)}"

# For each visible element that draws text (its own text nodes, or a form control's
# value), the WCAG contrast ratio of its colour over the backgrounds behind it: ancestors'
# background colours composed, from the page's canvas up (a transparent layer lets the one
# below show). Elements drawn with an image or a gradient behind them are reported apart,
# since no one colour stands for them.
MEASURE = (Path(__file__).parent / "contrast.js").read_text()


def assert_aa(page: sync_api.Page, scheme: str) -> list[dict[str, Any]]:
    """Every text measured on the page reaches AA; returns the measurements."""
    measured = page.evaluate(MEASURE)
    assert not [m for m in measured if m["images"]], "text over an image cannot be measured"
    assert len(measured) > 40, f"only {len(measured)} text elements were measured"
    failing = [m for m in measured if m["ratio"] < m["needed"]]
    assert failing == [], f"{len(failing)} of {len(measured)} below AA in {scheme}: {failing}"
    return list(measured)


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("console-contrast")
    with serving(
        workdir, config=CONFIG, alias=f"qwen-plus={MODEL}", env={"OPENSCOPE_ADMIN_KEY": ADMIN_KEY}
    ) as running:
        yield running


def new_page(browser: sync_api.Browser, server: Server, scheme: str) -> sync_api.Page:
    context = browser.new_context(
        base_url=server.root_url, viewport={"width": 1280, "height": 900}, color_scheme=scheme
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_playground_text_reaches_aa_contrast(
    browser: sync_api.Browser, console_server: Server, scheme: str
) -> None:
    page = new_page(browser, console_server, scheme)
    page.goto("/")
    page.get_by_label("API key").fill(console_server.api_key)
    page.get_by_role("button", name="Use key").click()
    expect(page.locator(f'#model option[value="{MODEL}"]')).to_have_count(1)
    # a turn with a function-call card, then a refused one: cards, usage and errors drawn
    page.get_by_label("Function tools (JSON array)").fill(json.dumps(WEATHER))
    send(page, 'call get_weather {"city": "Hangzhou"}')
    page.get_by_label("Function tools (JSON array)").fill("")
    page.get_by_label("Temperature").fill("9")
    send(page, "a refused request")
    expect(page.locator(".turn-error").last).to_be_visible()
    assert_aa(page, scheme)
    page.context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_operator_view_text_reaches_aa_contrast(
    browser: sync_api.Browser, console_server: Server, scheme: str
) -> None:
    page = new_page(browser, console_server, scheme)
    page.goto("/console/operator/")
    page.get_by_label("Admin key (kept in this tab's session storage only)").fill(ADMIN_KEY)
    page.get_by_role("button", name="Use key").click()
    expect(page.locator("#keys-h")).to_be_visible()
    page.locator("#key-create").get_by_label("Name").fill("contrast")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#secret")).to_be_visible()
    # the usage charts' axis labels are SVG text: draw them
    expect(page.locator(".chart text").first).to_be_attached()
    measured = assert_aa(page, scheme)
    assert any(m.get("svg") for m in measured), "no chart text was measured"
    page.context.close()

"""The operator view in a real browser (Debian's chromium driven by Playwright) against a
real `openscope serve` with the platform on: a wrong admin key is refused clearly; a key
created in the page shows its secret once, works from the openai SDK, shows up in the usage
chart; given a limit of 1 request a minute in the page, its refused request shows in the
requests chart under its 429's code; once revoked in the page it gets a 401.

Screenshots go to $OPENSCOPE_SCREENSHOTS (a temporary directory when unset)."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.e2e.conftest import CHROMIUM, Server, serving

try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:  # pragma: no cover - the skip below says why
    sync_playwright = None  # type: ignore[assignment]

pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)"
    ),
    pytest.mark.skipif(sync_playwright is None, reason="needs the playwright package"),
]

MODEL = "scripted-echo"
CONFIG = f"""
[backends.scripted]
type = "scripted"

[routes]
"{MODEL}" = "scripted"
"""
ADMIN_KEY = f"sk-admin-{secrets.token_hex(8)}"
USAGE_WAIT_SECONDS = 20.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("console-operator")
    with serving(
        workdir,
        config=CONFIG,
        alias=f"qwen-plus={MODEL}",
        env={"OPENSCOPE_ADMIN_KEY": ADMIN_KEY},
    ) as running:
        yield running


def sdk(server: Server, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0, timeout=30.0)


def show_requests(page: Page, count: int) -> None:
    """Refresh the usage until it shows `count` requests (the ledger writes in the
    background)."""
    summary = page.locator("#usage-summary")
    deadline = time.monotonic() + USAGE_WAIT_SECONDS
    while True:
        page.get_by_role("button", name="Refresh usage").click()
        page.wait_for_timeout(500)
        if int(summary.get_attribute("data-requests") or 0) >= count:
            return
        assert time.monotonic() < deadline, f"not {count} requests: {summary.inner_text()}"


def sign_in(page: Page, key: str) -> None:
    page.get_by_role("textbox", name=re.compile("^Admin key")).fill(key)
    page.get_by_role("button", name="Use key").click()


def test_a_key_from_creation_to_revocation(server: Server, browser: Any, screenshots: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{server.root_url}/console/operator/")

    # a wrong admin key: refused, and said so in words
    sign_in(page, "sk-not-the-admin-key")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("401")
    expect(alert).to_contain_text("admin key was refused")
    expect(page.locator("#admin")).to_be_hidden()
    page.screenshot(path=screenshots / "operator-wrong-key.png", full_page=True)

    sign_in(page, ADMIN_KEY)
    expect(page.locator("#admin")).to_be_visible()
    expect(alert).to_be_hidden()
    # the key is in session storage and nowhere in the address
    assert page.evaluate("sessionStorage.getItem('openscope.adminKey')") == ADMIN_KEY
    assert ADMIN_KEY not in page.url

    # create a key: its secret is shown once
    page.locator("#key-create").get_by_label("Name").fill("browser-key")
    page.get_by_role("button", name="Create key").click()
    secret_box = page.locator("#secret")
    expect(secret_box).to_be_visible()
    expect(secret_box).to_contain_text("shown once")
    secret = page.locator("#secret-value").input_value()
    assert secret.startswith("sk-")
    row = page.locator("#keys tbody tr", has_text="browser-key")
    expect(row).to_contain_text("active")
    key_id = row.get_attribute("data-key-id")
    page.screenshot(path=screenshots / "operator-new-key.png", full_page=True)
    page.get_by_role("button", name="I have saved it").click()
    expect(secret_box).to_be_hidden()
    assert secret not in page.content()

    # the key works from the SDK, and the usage chart shows the request
    with sdk(server, secret) as client:
        answer = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hello from the browser test"}]
        )
    assert answer.choices[0].message.content
    summary = page.locator("#usage-summary")
    show_requests(page, 1)
    page.locator("#usage-which").select_option(label=f"browser-key ({key_id})")
    expect(summary).to_contain_text("1 request (ok 1; 0 failed or refused)")
    expect(summary).to_contain_text("for browser-key")
    assert page.locator("#chart-tokens svg rect").count() >= 1
    assert page.locator("#chart-requests svg rect.s-ok").count() == 1

    # a limit of 1 request a minute, set in the page: the second request after it is
    # refused, and the requests chart shows the refusal under its 429's code
    limits = page.locator("#limits")
    limits.get_by_label("For").select_option(value=f"key:{key_id}")
    limits.get_by_label("Model").fill(MODEL)
    limits.get_by_label("Requests / min").fill("1")
    page.get_by_role("button", name="Set limits").click()
    expect(row).to_contain_text(f"{MODEL}: 1 rpm")
    asked = {"model": MODEL, "messages": [{"role": "user", "content": "again"}]}
    with sdk(server, secret) as client:
        client.chat.completions.create(**asked)  # type: ignore[call-overload]
        with pytest.raises(openai.RateLimitError) as limited:
            client.chat.completions.create(**asked)  # type: ignore[call-overload]
    code = limited.value.code
    assert code == "limit_requests", limited.value.body
    show_requests(page, 3)
    expect(summary).to_contain_text(f"3 requests (ok 2, {code} 1; 1 failed or refused)")
    legend = page.locator("#chart-requests .legend li")
    expect(legend).to_have_text(["ok: 2", f"{code}: 1"])
    expect(legend.nth(0)).to_have_class("s-ok")
    expect(legend.nth(1)).to_have_class("s-warm-0")
    assert page.locator("#chart-requests svg rect.s-warm-0").count() == 1
    svg_label = page.locator("#chart-requests svg").get_attribute("aria-label") or ""
    assert f"{code} 1" in svg_label, svg_label
    page.locator("#chart-requests").screenshot(path=screenshots / "operator-requests-by-status.png")
    # and the live counters count it
    expect(page.locator("#requests-status")).to_contain_text("ok", timeout=10_000)
    page.screenshot(path=screenshots / "operator-usage.png", full_page=True)

    # revoke it in the page (asked twice), and the key gets a 401
    row.get_by_role("button", name="Revoke key browser-key").click()
    page.get_by_role("button", name=re.compile("Confirm: revoke key browser-key")).click()
    expect(row).to_contain_text("revoked")
    with sdk(server, secret) as client, pytest.raises(openai.AuthenticationError) as refused:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert refused.value.status_code == 401
    page.screenshot(path=screenshots / "operator-revoked.png", full_page=True)
    assert errors == []
    context.close()


def test_narrow_dark_screen(server: Server, browser: Any, screenshots: Path) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    page = context.new_page()
    page.goto(f"{server.root_url}/console/operator/")
    sign_in(page, ADMIN_KEY)
    expect(page.locator("#admin")).to_be_visible()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    expect(page.get_by_role("button", name="Dark theme")).to_have_attribute("aria-pressed", "true")
    # nothing wider than the screen but the tables, which scroll in their own box
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px screen"
    page.screenshot(path=screenshots / "operator-narrow-dark.png", full_page=True)
    page.get_by_role("button", name="Dark theme").click()
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    context.close()

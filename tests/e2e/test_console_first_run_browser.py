"""A first run, as the README promises it: `openscope serve` with nothing configured (no
key, no config), then the playground opened in a browser on the same machine works with
no other step. A page of another origin in the same browser cannot obtain the key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import MODEL, Server, serving
from tests.e2e.test_console_browser import CHROMIUM, TIMEOUT_MS, sync_api

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
]
expect = sync_api.expect


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # An empty config: the defaults `make serve` starts with (the embedded model only).
    with serving(
        tmp_path_factory.mktemp("first-run"),
        config="",
        alias=f"{MODEL}={MODEL}",
        generated_key=True,
    ) as running:
        yield running


@pytest.fixture
def context(browser: sync_api.Browser, first_run: Server) -> Iterator[sync_api.BrowserContext]:
    context = browser.new_context(base_url=first_run.root_url)
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


def test_the_playground_works_with_no_step_of_the_users(
    context: sync_api.BrowserContext, first_run: Server
) -> None:
    page = context.new_page()
    page.goto("/")
    expect(page.locator("#key-state")).to_have_text(
        f"Using the key this server generated for this run (…{first_run.api_key[-4:]})."
    )
    expect(page.get_by_label("Model", exact=True)).to_have_value(MODEL)
    # only to keep the test short: the default (1,024) would let the small model ramble
    page.get_by_label("Max tokens").fill("24")
    page.get_by_label("Message", exact=True).fill("Say hello.")
    page.get_by_role("button", name="Send", exact=True).click()
    turn = page.locator(".turn.assistant").first
    # the real model, on a machine that may be busy: as long as every other step may take
    expect(turn).to_have_attribute("data-state", "done", timeout=TIMEOUT_MS)
    expect(turn.locator(".turn-error")).to_be_hidden()
    assert turn.locator(".text").inner_text().strip(), "the embedded model's answer is empty"
    expect(turn.locator(".usage")).to_contain_text("output ")
    # the key is in this tab's session storage only
    stored = page.evaluate("() => ({...sessionStorage})")
    assert first_run.api_key in stored.values()
    assert page.evaluate("() => localStorage.length") == 0
    assert first_run.api_key not in page.url


def test_a_forgotten_key_is_not_taken_again_on_reload(
    context: sync_api.BrowserContext, first_run: Server
) -> None:
    page = context.new_page()
    page.goto("/")
    expect(page.locator("#key-state")).to_contain_text("Using the key this server generated")
    page.get_by_role("button", name="Forget key").click()
    expect(page.locator("#key-state")).to_have_text("No key set.")
    page.reload()
    expect(page.locator("#key-state")).to_have_text("No key set.")
    expect(page.locator("#model")).to_contain_text("Enter an API key to list the models")


def test_a_page_of_another_origin_cannot_obtain_the_key(
    context: sync_api.BrowserContext, first_run: Server
) -> None:
    page = context.new_page()
    # A page served from another site (answered by the browser's request interception, so
    # no second server is needed) asks this server for the key, as a hostile page would.
    page.route(
        "http://attacker.test/",
        lambda route: route.fulfill(status=200, content_type="text/html", body="<p>hi</p>"),
    )
    page.goto("http://attacker.test/")
    outcome = page.evaluate(
        """async (url) => {
          try {
            const response = await fetch(url, { credentials: "include" });
            return { status: response.status, body: await response.text() };
          } catch (error) {
            return { error: String(error) };
          }
        }""",
        f"{first_run.root_url}/console/local-key",
    )
    assert first_run.api_key not in str(outcome)
    # and the server did refuse it (seen from here, not only hidden by CORS)
    refused = context.request.get("/console/local-key", headers={"Sec-Fetch-Site": "cross-site"})
    assert refused.status == 403

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
    # localhost and 127.0.0.1 are two origins of the same server: a page of the one asking
    # the other is what a page of any other site would do, and the browser says so.
    # Chromium itself stops a page's request to a loopback address of another origin
    # unless the user allows it (Local Network Access): allowed here, so that what is
    # tested is the server's own refusal.
    context.grant_permissions(["local-network-access"])
    page = context.new_page()
    # A page of that other origin without the console's CSP (which would stop the fetch
    # in the browser, before the server could refuse it), answered by the browser itself.
    other = f"http://localhost:{first_run.port}/another-page"
    page.route(
        other, lambda route: route.fulfill(status=200, content_type="text/html", body="<p>hi</p>")
    )
    page.goto(other)
    target = f"{first_run.root_url}/console/local-key"
    with page.expect_response(target) as answered:
        outcome = page.evaluate(
            """async (url) => {
              try {
                // no-cors: sent like a form post, the answer opaque to the page
                const response = await fetch(url, { method: "POST", mode: "no-cors" });
                return { type: response.type, body: await response.text() };
              } catch (error) {
                return { error: String(error) };
              }
            }""",
            target,
        )
    assert answered.value.status == 403  # refused by the server, not only hidden by CORS
    assert first_run.api_key not in str(outcome)


def test_a_restarted_servers_new_key_replaces_the_old_one(
    context: sync_api.BrowserContext, first_run: Server
) -> None:
    page = context.new_page()
    page.goto("/")
    expect(page.locator("#key-state")).to_contain_text("Using the key this server generated")
    # as the tab would hold it after the server restarted with a new key
    page.evaluate('() => sessionStorage.setItem("openscope.apiKey", "sk-from-the-last-run")')
    page.reload()
    expect(page.locator("#key-state")).to_have_text(
        f"Using the key this server generated for this run (…{first_run.api_key[-4:]})."
    )
    assert page.evaluate('() => sessionStorage.getItem("openscope.apiKey")') == first_run.api_key

"""Contrast, measured in a real browser: every piece of visible text in the playground and
the operator view, in the light and the dark theme, reaches WCAG 2's AA ratio against the
background it is drawn on (4.5:1; 3:1 for large text), after a conversation and the
operator's tables have filled the pages."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
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
MEASURE = """() => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (top, below) => {
    const a = top.a + below.a * (1 - top.a);
    if (a === 0) return { r: 0, g: 0, b: 0, a: 0 };
    const mix = (k) => (top[k] * top.a + below[k] * below.a * (1 - top.a)) / a;
    return { r: mix("r"), g: mix("g"), b: mix("b"), a };
  };
  const luminance = ({ r, g, b }) => {
    const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const background = (element) => {
    const layers = [];
    let images = false;
    for (let node = element; node; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.backgroundImage !== "none") images = true;
      layers.push(parse(style.backgroundColor));
    }
    let colour = { r: 255, g: 255, b: 255, a: 1 }; // the canvas: white unless the root paints
    for (const layer of layers.reverse()) if (layer) colour = over(layer, colour);
    return { colour, images };
  };
  const drawsText = (el) =>
    ["INPUT", "SELECT", "TEXTAREA", "BUTTON"].includes(el.tagName) ||
    [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  const results = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (!drawsText(el) || el.closest("[hidden], .sr-only")) continue;
    if (el.disabled) continue; // WCAG 1.4.3 exempts inactive controls
    const rect = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (!rect.width || !rect.height || style.visibility === "hidden" || style.display === "none") continue;
    if (el.tagName === "INPUT" && ["checkbox", "radio", "range", "color"].includes(el.type)) continue;
    if (["INPUT", "TEXTAREA"].includes(el.tagName) && !el.value && !el.placeholder) continue;
    const { colour: bg, images } = background(el);
    // SVG text is drawn in its fill, HTML text in its colour
    const fg = over(parse(el instanceof SVGElement ? style.fill : style.color), bg);
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
    const size = parseFloat(style.fontSize);
    const bold = Number(style.fontWeight) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    const text = (el.value || el.placeholder || el.textContent).trim().slice(0, 40);
    results.push({
      tag: el.tagName.toLowerCase(), svg: el instanceof SVGElement, id: el.id, cls: el.className && String(el.className),
      text, ratio: (hi + 0.05) / (lo + 0.05), needed: large ? 3 : 4.5, images,
      fg: style.color, bg: `rgb(${Math.round(bg.r)}, ${Math.round(bg.g)}, ${Math.round(bg.b)})`,
    });
    // a placeholder is drawn in its own colour: measure it too
    if (el.placeholder && !el.value) {
      const ph = parse(getComputedStyle(el, "::placeholder").color);
      if (ph) {
        const c = over(ph, bg);
        const [h2, l2] = [luminance(c), luminance(bg)].sort((a, b) => b - a);
        results.push({ tag: el.tagName.toLowerCase() + "::placeholder", id: el.id, cls: "",
          text: el.placeholder.slice(0, 40), ratio: (h2 + 0.05) / (l2 + 0.05), needed: 4.5,
          images, fg: getComputedStyle(el, "::placeholder").color, bg: "" });
      }
    }
  }
  return results;
}"""


def low_contrast(page: sync_api.Page) -> tuple[list[dict[str, Any]], int]:
    measured = page.evaluate(MEASURE)
    assert not [m for m in measured if m["images"]], "text over an image cannot be measured"
    failing = [m for m in measured if m["ratio"] < m["needed"]]
    return failing, len(measured)


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("console-contrast")
    with serving(
        workdir, config=CONFIG, alias=f"qwen-plus={MODEL}", env={"OPENSCOPE_ADMIN_KEY": ADMIN_KEY}
    ) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


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
    failing, measured = low_contrast(page)
    assert measured > 40, f"only {measured} text elements were measured"
    assert failing == [], f"{len(failing)} of {measured} below AA in {scheme}: {failing}"
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
    failing, measured = low_contrast(page)
    assert any(m.get("svg") for m in page.evaluate(MEASURE)), "no chart text was measured"
    assert measured > 40, f"only {measured} text elements were measured"
    assert failing == [], f"{len(failing)} of {measured} below AA in {scheme}: {failing}"
    page.context.close()

"""End to end: pages fetched from a local server (allow-listed) and extracted into the
template; failures as reasons in the output, never exceptions."""

from __future__ import annotations

from openscope.tools.fetch import Fetcher, FetchPolicy, networks
from openscope.tools.web_extractor import OutputLimits, WebExtractor

GOAL = "What are the costs and concerns of the turbines?"


def extractor(**limits: int) -> WebExtractor:
    return WebExtractor(Fetcher(FetchPolicy(allow=networks("127.0.0.1"))), OutputLimits(**limits))


async def test_a_page_is_fetched_extracted_and_put_in_the_template(fixture_server: str) -> None:
    url = f"{fixture_server}/article.html"
    result = await extractor().run(GOAL, [url])
    assert result.ok
    assert [(p.url, p.title, p.error) for p in result.pages] == [
        (url, "Tidal Power in the Bay of Fundy", None)
    ]
    head = (
        f"The useful information in {url} for user goal {GOAL} as follows: \n\nEvidence in page: \n"
    )
    assert result.output.startswith(head)
    evidence, summary = result.output[len(head) :].split("\n\nSummary: \n")
    assert "## Costs and concerns\n\nThe main obstacles are cost and durability." in evidence
    assert "Fishermen also worry" in evidence
    assert "Subscribe to our newsletter" not in result.output
    assert "Copyright 2026" not in result.output
    assert summary.startswith("Tidal Power in the Bay of Fundy: The Bay of Fundy, between")


async def test_a_chinese_page_and_goal(fixture_server: str) -> None:
    url = f"{fixture_server}/chinese.html"
    result = await extractor().run("提取云数据库的信息", [url])
    evidence = result.output.split("Evidence in page: \n")[1].split("\n\nSummary: \n")[0]
    assert "## 数据库\n\n云数据库提供关系型和非关系型数据库的托管服务" in evidence
    assert "通义系列大模型" not in evidence  # shares no word with the goal
    assert "免费注册" not in result.output


async def test_a_refused_url_is_a_reason_beside_the_pages_that_were_read(
    fixture_server: str,
) -> None:
    good = f"{fixture_server}/article.html"
    result = await extractor().run(GOAL, [good, "http://10.0.0.1/", "file:///etc/passwd"])
    assert result.ok  # one page was read
    assert [p.error for p in result.pages] == [
        None,
        "10.0.0.1 is not allowed: private address",
        "scheme 'file' is not allowed (only http and https)",
    ]
    sections = result.output.split("\n\nThe useful information in ")
    assert len(sections) == 3
    assert sections[1].endswith(
        "Summary: \nThe page could not be read: 10.0.0.1 is not allowed: private address"
    )
    assert len(result.output) <= OutputLimits().max_chars


async def test_when_no_url_can_be_read_the_call_failed(fixture_server: str) -> None:
    result = await extractor().run(GOAL, [f"{fixture_server}/missing.html"])
    assert not result.ok
    assert result.pages[0].error == "HTTP 404 Not Found"
    assert result.output.endswith("Summary: \nThe page could not be read: HTTP 404 Not Found")


async def test_urls_past_the_limit_are_reported_not_fetched(fixture_server: str) -> None:
    urls = [f"{fixture_server}/article.html?{n}" for n in range(4)]
    result = await extractor(max_urls=2, max_chars=6000).run(GOAL, urls)
    assert [p.error for p in result.pages] == [
        None,
        None,
        "not fetched: more than 2 URLs in one call",
        "not fetched: more than 2 URLs in one call",
    ]
    assert result.output.count("The useful information in ") == 2
    assert len(result.output) <= 6000


async def test_no_url_is_a_failed_call() -> None:
    result = await extractor().run(GOAL, ["  ", ""])
    assert not result.ok
    assert result.output == "No URL was given to extract from."

"""What built-in web search adds to the time to first token, on the embedded model with the
local index, against the same chat without search in the same run:

    .venv/bin/python bench/web_search.py [--rounds 8] [--documents 2000]

One server, its `[tools.web_search]` a local index built from `--documents` generated
markdown pages. Each round sends the same streamed question twice, in alternating order:
plain, and with `enable_search` + `forced_search` (the model's forced query, the search,
then the answer's turn with the results in its prompt). Printed (medians over the rounds):
- plain and searching time to first content token, and the time searching adds;
- the search alone: the index queried in this process with the model's kind of query;
- the prompt tokens of both, since the answer's turn reads the results.
The machine is shared and noisy: run it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from openscope.tools.web_search import LocalIndexProvider, SearchQuery, build_index
from server import MODEL, StreamResult, chat_body, serve_config, stream_chat, user

# A catalogued Model Studio name served by the embedded model, as users alias them.
ALIAS = "qwen-plus"
QUESTION = "Who designed the harbour bridge of Port Ellery, and when was it opened?"
TOPICS = (
    "harbour", "bridge", "lighthouse", "railway", "museum", "festival", "river", "market",
    "cathedral", "observatory", "canal", "library", "garden", "theatre", "mill", "tower",
)  # fmt: skip
PLACES = ("Port Ellery", "Kestwick", "Amberly", "Dunmore", "Halvard", "Sorrento Bay")
PEOPLE = ("Ada Brennan", "Tomas Virel", "Ines Marlow", "Oskar Feld", "Lena Hart")


def write_corpus(folder: Path, documents: int, seed: int = 7) -> None:
    """`documents` markdown pages about invented places, each with a URL in front matter;
    one of them answers `QUESTION`."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(documents):
        topic, place, person = rng.choice(TOPICS), rng.choice(PLACES), rng.choice(PEOPLE)
        year = rng.randint(1790, 1990)
        body = " ".join(
            f"The {topic} of {place} was designed by {person} and opened in {year}."
            for _ in range(rng.randint(3, 12))
        )
        front = f"---\nurl: https://example.org/{topic}/{n}\n---\n"
        page = f"{front}# The {topic} of {place}\n\n{body}\n"
        (folder / f"page-{n:05d}.md").write_text(page)
    answer = (
        "---\nurl: https://example.org/port-ellery-bridge\n---\n# Port Ellery harbour bridge\n\n"
        "The harbour bridge of Port Ellery was designed by Ines Marlow and opened in 1911.\n"
    )
    (folder / "answer.md").write_text(answer)


def index_search_seconds(index: Path, rounds: int) -> list[float]:
    async def measure() -> list[float]:
        provider = LocalIndexProvider(index)
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            await provider.search(SearchQuery("Port Ellery harbour bridge designed", 10))
            times.append(time.perf_counter() - started)
        return times

    return asyncio.run(measure())


async def one_round(
    client: httpx.AsyncClient, server: object, first: str
) -> dict[str, StreamResult]:
    plain = chat_body(user(QUESTION), 64, model=ALIAS)
    searching = chat_body(
        user(QUESTION), 64, model=ALIAS, enable_search=True, search_options={"forced_search": True}
    )
    order = [("plain", plain), ("search", searching)]
    if first == "search":
        order.reverse()
    results = {}
    for name, body in order:
        results[name] = await stream_chat(client, server, body)  # type: ignore[arg-type]
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--documents", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-search-") as scratch:
        corpus, index = Path(scratch) / "corpus", Path(scratch) / "index.sqlite3"
        write_corpus(corpus, args.documents)
        started = time.perf_counter()
        build_index(corpus, index)
        print(f"index of {args.documents + 1} pages built in {time.perf_counter() - started:.2f} s")
        alone = index_search_seconds(index, 50)
        config = (
            f'aliases = {{ "{ALIAS}" = "{MODEL}" }}\n[backends.embedded]\ntype = "llamacpp"\n'
            f'[tools.web_search]\nprovider = "local"\nindex = "{index}"\n'
        )
        with serve_config(config) as server:

            async def run() -> list[dict[str, StreamResult]]:
                timeout = httpx.Timeout(120.0)
                async with httpx.AsyncClient(timeout=timeout) as client:
                    await one_round(client, server, "plain")  # warm-up, not counted
                    return [
                        await one_round(client, server, "plain" if n % 2 else "search")
                        for n in range(args.rounds)
                    ]

            rounds = asyncio.run(run())
    failed = [r for round_ in rounds for r in round_.values() if not r.ok]
    if failed:
        print(f"{len(failed)} requests failed: {failed[0]}")
        return 1
    plain = statistics.median(r["plain"].ttft or 0.0 for r in rounds)
    search = statistics.median(r["search"].ttft or 0.0 for r in rounds)
    print(f"rounds: {args.rounds}, corpus: {args.documents + 1} pages")
    print(f"time to first token, plain:     {plain * 1000:8.1f} ms")
    print(f"time to first token, searching: {search * 1000:8.1f} ms  ({search / plain:.2f}x)")
    print(f"added by searching:             {(search - plain) * 1000:8.1f} ms")
    print(f"the index search alone:         {statistics.median(alone) * 1000:8.2f} ms")
    print(
        "prompt tokens, plain / searching: "
        f"{rounds[0]['plain'].prompt_tokens} / {rounds[0]['search'].prompt_tokens}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

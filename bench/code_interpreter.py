"""What the code interpreter's sandbox costs a run, against plain `python -c` in the same run:

    .venv/bin/python bench/code_interpreter.py [--runs 10]

Printed (medians over `--runs`, each side alternating so both see the same machine):
- cold: a new container's first cell, `print(1)` (bwrap, the worker's Python start-up);
- warm: the next cell of the same container (the worker already running);
- plain: `python -c "print(1)"` in a subprocess, the baseline;
and the ratios cold/plain and warm/plain. Needs `bwrap` (Debian's `bubblewrap`).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from openscope.tools.code_interpreter import Containers


async def plain_python() -> float:
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "print(1)", stdout=asyncio.subprocess.PIPE
    )
    await process.communicate()
    return time.perf_counter() - started


async def measure(runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"cold": [], "warm": [], "plain": []}
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as scratch:
        containers = Containers(Path(scratch))
        try:
            for _ in range(runs):
                started = time.perf_counter()
                box = await containers.create()
                result = await containers.run(box, "print(1)")
                times["cold"].append(time.perf_counter() - started)
                assert result.logs == "1\n", result.logs
                started = time.perf_counter()
                await containers.run(box, "print(1)")
                times["warm"].append(time.perf_counter() - started)
                await containers.remove(box)
                times["plain"].append(await plain_python())
        finally:
            await containers.aclose()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    if shutil.which("bwrap") is None:
        print("bwrap is not installed (apt-get install bubblewrap)")
        return 2
    times = asyncio.run(measure(args.runs))
    plain = statistics.median(times["plain"])
    print(f"code interpreter, print(1), median of {args.runs} runs")
    for side in ("cold", "warm", "plain"):
        median = statistics.median(times[side])
        ratio = "" if side == "plain" else f"  {median / plain:5.2f}x plain"
        print(f"  {side:>5}: {median * 1000:8.1f} ms{ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

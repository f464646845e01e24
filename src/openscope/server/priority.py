"""The serving thread yields the CPU to the engines' decode threads.

On a small machine the event loop and the embedded engine share a few cores. Whatever the
event loop does — parsing a megabyte of JSON from a careless client, refusing the same bad
request a thousand times — takes a core from llama.cpp's decode threads, and every stream
slows. Once the backends have started their engine threads (which keep the priority they
were created with, as do the threads llama.cpp starts from them), the serving thread lowers
its own CPU priority to nice value `nice`; executor threads it starts later inherit that. The
event loop's own work per streamed token is small, so it loses little; decode keeps its
cores. Linux only (there, a thread's nice value is its own); elsewhere nothing changes.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

log = logging.getLogger("openscope.server")

MAX_NICE = 19


def lower_serving_priority(nice: int) -> None:
    """Give the calling thread at least nice value `nice` (0: leave it alone). Never
    raises a priority, so calling it twice changes nothing."""
    if nice <= 0 or not sys.platform.startswith("linux"):
        return
    thread = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread)
        if current < nice:
            os.setpriority(os.PRIO_PROCESS, thread, min(MAX_NICE, nice))
    except OSError as error:
        log.warning("could not lower the serving thread's priority: %s", error)

"""The serving thread lowers its own CPU priority, never another thread's."""

import os
import sys
import threading

import pytest

from openscope.server.priority import lower_serving_priority

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="only Linux gives each thread a nice value of its own; elsewhere it does nothing",
)


def nice_of_thread(run: object) -> tuple[int, int]:
    """Run `lower_serving_priority` as given in a fresh thread; return that thread's nice
    value after it, and the nice value of a thread it starts afterwards."""
    seen: dict[str, int] = {}

    def child() -> None:
        seen["child"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def body() -> None:
        run()  # type: ignore[operator]
        seen["self"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        started = threading.Thread(target=child)
        started.start()
        started.join()

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    return seen["self"], seen["child"]


def test_the_calling_thread_and_what_it_starts_get_the_nice_value() -> None:
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    target = min(19, base + 3)
    assert nice_of_thread(lambda: lower_serving_priority(target)) == (target, target)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base


def test_it_never_raises_a_priority_and_zero_leaves_it_alone() -> None:
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    twice = nice_of_thread(lambda: (lower_serving_priority(base + 2), lower_serving_priority(1)))
    assert twice == (base + 2, base + 2)
    assert nice_of_thread(lambda: lower_serving_priority(0)) == (base, base)

"""A scripted backend: the in-tree fake that lets protocol and engine tests run without a
model. It replays events a test wrote, or by default echoes the last user message."""

from openscope.backends.scripted.backend import Script, ScriptedBackend, text_events

__all__ = ["Script", "ScriptedBackend", "text_events"]

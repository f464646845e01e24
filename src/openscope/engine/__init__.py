"""The one place that combines: resolve the model, check the request against it, run the
backend, hand the event stream back to the protocol."""

from openscope.engine.engine import Engine, Limits, ToolLimits
from openscope.engine.routing import Route, Router

__all__ = ["Engine", "Limits", "Route", "Router", "ToolLimits"]

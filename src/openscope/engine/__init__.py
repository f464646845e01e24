"""The one place that combines: resolve the model, check the request against it, run the
backend, hand the event stream back to the protocol."""

from openscope.engine.admission import Admissions
from openscope.engine.engine import Engine, ToolLimits
from openscope.engine.routing import Route, Router

__all__ = ["Admissions", "Engine", "Route", "Router", "ToolLimits"]

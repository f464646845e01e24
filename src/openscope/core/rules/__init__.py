"""Model Studio's rules and limits, once for every API, with wire-neutral names.

A broken rule raises a `Refusal` naming a `Field`; each protocol words it with its own
parameter names where it builds its error body (protocols/<api>/names.py).
"""

from openscope.core.rules.capabilities import check_capabilities
from openscope.core.rules.checks import check_request
from openscope.core.rules.defaults import apply_defaults
from openscope.core.rules.fields import Field
from openscope.core.rules.refusal import Refusal, wire_message, wire_param
from openscope.core.rules.sizes import check_sizes
from openscope.core.rules.thinking import thinking_enabled
from openscope.core.rules.tools import check_tools
from openscope.core.rules.wording import Wording

__all__ = [
    "Field",
    "Refusal",
    "Wording",
    "apply_defaults",
    "check_capabilities",
    "check_request",
    "check_sizes",
    "check_tools",
    "thinking_enabled",
    "wire_message",
    "wire_param",
]

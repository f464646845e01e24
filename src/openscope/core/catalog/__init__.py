"""The model catalogue: every model name Model Studio serves, with its limits,
capabilities and per-model defaults, plus the embedded model."""

from openscope.core.catalog.catalog import Catalog, default_catalog
from openscope.core.catalog.limits import model_studio_limits
from openscope.core.catalog.spec import Capabilities, ModelSpec, SamplingDefaults, ThinkingMode

__all__ = [
    "Capabilities",
    "Catalog",
    "ModelSpec",
    "SamplingDefaults",
    "ThinkingMode",
    "default_catalog",
    "model_studio_limits",
]

"""The llamacpp options model keeps the backend's own defaults and rules. No model is loaded."""

import inspect
import re

import pytest
from pydantic import ValidationError

from openscope.backends.llamacpp import LlamaCppBackend
from openscope.backends.llamacpp.options import LlamaCppOptions


def test_every_constructor_parameter_is_an_option_with_the_same_default() -> None:
    parameters = inspect.signature(LlamaCppBackend.__init__).parameters
    constructor = {name: p.default for name, p in parameters.items() if name != "self"}
    options = {name: field.default for name, field in LlamaCppOptions.model_fields.items()}
    assert options == constructor


def test_n_ctx_is_the_old_name_of_ctx_per_seq() -> None:
    assert LlamaCppOptions.model_validate({"n_ctx": 2048}).ctx_per_seq == 2048


def test_an_empty_model_path_means_the_shipped_model() -> None:
    assert LlamaCppOptions.model_validate({"model_path": ""}).model_path is None


@pytest.mark.parametrize(
    ("options", "rule"),
    [
        ({"parallel": 8, "n_batch": 32}, "n_batch must be at least 8 * parallel"),
        ({"ctx_per_seq": 8192, "kv_tokens": 4096}, "ctx_per_seq must be at most kv_tokens"),
        ({"cache_tokens": 8192, "kv_tokens": 4096}, "cache_tokens must be at most kv_tokens"),
    ],
)
def test_rules_across_options_are_checked_before_the_backend_is_built(
    options: dict[str, object], rule: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(rule)):
        LlamaCppOptions.model_validate(options)
    with pytest.raises(ValueError):  # what building the backend would have said
        LlamaCppBackend(**options)  # type: ignore[arg-type]

import logging

import pytest

from openscope.core.catalog import default_catalog
from openscope.core.errors import ModelNotFound
from openscope.engine import Route, Router

CATALOG = default_catalog()


def router(**aliases: str) -> Router:
    routes = {"smollm2-135m-instruct": Route("embedded", "smollm2-135m-instruct")}
    return Router(CATALOG, routes, aliases, created=1)


def test_alias_serves_the_catalogue_name_with_the_target_route() -> None:
    target = router(**{"qwen-plus": "smollm2-135m-instruct"}).resolve("qwen-plus")
    assert target.route == Route("embedded", "smollm2-135m-instruct")
    # the alias keeps its own catalogue entry (limits and defaults of qwen-plus)
    assert target.served.spec is CATALOG["qwen-plus"]


def test_unknown_model_message() -> None:
    with pytest.raises(ModelNotFound) as caught:
        router().resolve("gpt-9")
    assert caught.value.message == (
        "The model gpt-9 does not exist or you do not have access to it."
    )


def test_catalogue_model_without_route_names_only_the_model_asked_for(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        caplog.at_level(logging.INFO, logger="openscope.routing"),
        pytest.raises(ModelNotFound) as caught,
    ):
        router().resolve("qwen-max")
    # Model Studio's wording; what this server serves is no client's business
    assert caught.value.message == (
        "The model qwen-max does not exist or you do not have access to it."
    )
    # the operator reads how to route it in the server's log
    assert "--alias qwen-max=<served model>" in caplog.text
    assert "[routes]" in caplog.text


def test_alias_to_an_unserved_model_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="no route serves"):
        router(**{"qwen-plus": "nothing"})


def test_uncatalogued_routed_model_is_served_with_generic_limits() -> None:
    routes = {"my-llama": Route("vllm", "meta/llama")}
    served = Router(CATALOG, routes, {}, created=1).resolve("my-llama").served
    assert served.spec.family == "custom"


def test_served_lists_routes_and_aliases() -> None:
    ids = [m.id for m in router(**{"qwen-plus": "smollm2-135m-instruct"}).served()]
    assert ids == ["smollm2-135m-instruct", "qwen-plus"]


def test_uncatalogued_models_can_do_what_their_backend_can() -> None:
    from openscope.backends.base import BackendFeatures
    from openscope.core.catalog import ThinkingMode

    routes = {"echo": Route("scripted", "echo")}

    def features(route: Route) -> BackendFeatures:
        assert route == Route("scripted", "echo")
        return BackendFeatures(thinking=True, tools=True)

    spec = Router(CATALOG, routes, {}, created=1, features=features).resolve("echo").served.spec
    assert spec.capabilities.thinking is ThinkingMode.OPTIONAL
    assert spec.capabilities.tools and not spec.capabilities.logprobs

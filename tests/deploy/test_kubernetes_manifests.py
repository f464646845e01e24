"""The Kubernetes manifests under deploy/kubernetes: every document validates offline
against the Kubernetes API schemas (strict: an unknown or misspelt field fails), the
documents agree with each other (selectors, names, secret keys, the HPAs' targets), and the
ConfigMap's openscope.toml loads with openscope's own settings loader, so the manifests
cannot drift from the settings the server really takes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from openscope.backends.openai_upstream.options import UpstreamOptions
from openscope.settings import ENV_VARS, PLATFORM_ENV_VARS, Settings, load_settings

MANIFESTS = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
# The oldest and the newest Kubernetes the schemas here are for: the manifests use no API
# that one of them lacks or has removed.
KUBERNETES_VERSIONS = ("1.34.0", "1.37.0")


def documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for index, document in enumerate(yaml.safe_load_all(path.read_text())):
            if document is not None:
                found.append((f"{path.name}#{index}", document))
    return found


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for _, d in documents() if d["kind"] == kind}


def workloads() -> Iterator[dict[str, Any]]:
    for kind in ("Deployment", "StatefulSet"):
        yield from of_kind(kind).values()


def test_the_manifests_are_there() -> None:
    kinds = {(d["kind"], d["metadata"]["name"]) for _, d in documents()}
    for expected in [
        ("Deployment", "openscope"),
        ("Service", "openscope"),
        ("HorizontalPodAutoscaler", "openscope"),
        ("ConfigMap", "openscope"),
        ("Secret", "openscope"),
        ("StatefulSet", "postgres"),
        ("Service", "postgres"),
        ("Deployment", "redis"),
        ("Service", "redis"),
        ("StatefulSet", "vllm"),
        ("Service", "vllm"),
        ("HorizontalPodAutoscaler", "vllm"),
    ]:
        assert expected in kinds


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize(("where", "document"), documents(), ids=[w for w, _ in documents()])
def test_each_document_validates_against_the_kubernetes_schema(
    where: str, document: dict[str, Any], version: str
) -> None:
    problem = None
    try:
        kubernetes_validate.validate(document, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        problem = f"{where}: {'.'.join(map(str, error.path))}: {error.message}"
    assert problem is None, problem


def test_every_selector_selects_its_own_pods() -> None:
    for workload in workloads():
        spec = workload["spec"]
        labels = spec["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= labels.items(), workload["metadata"]
    pod_labels = [w["spec"]["template"]["metadata"]["labels"] for w in workloads()]
    for name, service in of_kind("Service").items():
        selector = service["spec"]["selector"]
        assert any(selector.items() <= labels.items() for labels in pod_labels), name


def test_statefulsets_are_governed_by_a_headless_service() -> None:
    services = of_kind("Service")
    for name, statefulset in of_kind("StatefulSet").items():
        governing = services[statefulset["spec"]["serviceName"]]
        assert governing["spec"]["clusterIP"] == "None", name


def test_the_autoscalers_scale_a_workload_of_the_manifests() -> None:
    for name, hpa in of_kind("HorizontalPodAutoscaler").items():
        target = hpa["spec"]["scaleTargetRef"]
        assert target["name"] in of_kind(target["kind"]), name
        assert hpa["spec"]["minReplicas"] >= 2, name


def test_every_secret_and_config_map_a_pod_reads_is_in_the_manifests() -> None:
    secrets = {name: s["stringData"] for name, s in of_kind("Secret").items()}
    config_maps = {name: c["data"] for name, c in of_kind("ConfigMap").items()}
    for workload in workloads():
        pod = workload["spec"]["template"]["spec"]
        for container in pod["containers"]:
            for variable in container.get("env", []):
                ref = variable.get("valueFrom", {}).get("secretKeyRef")
                if ref is not None:
                    assert ref["key"] in secrets[ref["name"]], variable["name"]
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps


def openscope_pod() -> dict[str, Any]:
    spec: dict[str, Any] = of_kind("Deployment")["openscope"]["spec"]["template"]["spec"]
    return spec


def test_openscope_runs_as_a_locked_down_replica_with_probes_on_health() -> None:
    deployment = of_kind("Deployment")["openscope"]
    assert deployment["spec"]["replicas"] >= 2
    pod = openscope_pod()
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/health"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    # The only writable places are emptyDirs: the data dir and /tmp.
    volumes = {v["name"]: v for v in pod["volumes"]}
    environment = {v["name"]: v.get("value") for v in container["env"]}
    for mount in container["volumeMounts"]:
        if not mount.get("readOnly"):
            assert "emptyDir" in volumes[mount["name"]], mount
    data_dir = environment["OPENSCOPE_DATA_DIR"]
    assert data_dir in {m["mountPath"] for m in container["volumeMounts"]}


def test_openscope_reads_only_environment_variables_it_knows() -> None:
    (container,) = openscope_pod()["containers"]
    known = {*ENV_VARS, *PLATFORM_ENV_VARS}
    names = {v["name"] for v in container["env"] if v["name"].startswith("OPENSCOPE_")}
    assert names <= known, names - known


def openscope_environment() -> dict[str, str]:
    """The openscope pod's environment, secrets filled in from the Secret template."""
    (container,) = openscope_pod()["containers"]
    secrets = {name: s["stringData"] for name, s in of_kind("Secret").items()}
    environment = {}
    for variable in container["env"]:
        ref = variable.get("valueFrom", {}).get("secretKeyRef")
        value = secrets[ref["name"]][ref["key"]] if ref else variable["value"]
        environment[variable["name"]] = value
    return environment


def mounted_settings(tmp_path: Path) -> Settings:
    """The settings the openscope container starts with: its --config file (from the
    ConfigMap, where the pod mounts it) and its environment."""
    pod = openscope_pod()
    (container,) = pod["containers"]
    config = Path(container["args"][container["args"].index("--config") + 1])
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == str(config.parent)]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    data = of_kind("ConfigMap")[volume["configMap"]["name"]]["data"]
    file = tmp_path / config.name
    file.write_text(data[config.name])
    return load_settings(file, env=openscope_environment())


def test_the_config_map_loads_with_openscopes_settings(tmp_path: Path) -> None:
    settings = mounted_settings(tmp_path)
    assert settings.host == "0.0.0.0"
    assert settings.database_url is not None
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert settings.platform.redis_url and settings.platform.key_pepper
    assert settings.platform.admin_keys and settings.api_keys
    # Every route's backend exists, with options its type takes.
    for name, route in settings.route_table().items():
        backend = settings.backends[route.backend]
        assert backend.type == "openai_upstream", name
        UpstreamOptions.model_validate(backend.options)
    for alias, target in settings.aliases.items():
        assert target in settings.routes, alias


def test_the_service_and_probes_use_the_port_openscope_listens_on(tmp_path: Path) -> None:
    settings = mounted_settings(tmp_path)
    (container,) = openscope_pod()["containers"]
    (port,) = container["ports"]
    assert port["containerPort"] == settings.port
    service_ports = of_kind("Service")["openscope"]["spec"]["ports"]
    assert [p["targetPort"] for p in service_ports] == [port["name"]]


def test_the_upstream_deployments_are_the_vllm_pods_the_autoscaler_may_run(
    tmp_path: Path,
) -> None:
    """One `deployments` entry per vLLM pod name up to maxReplicas: the pods the HPA adds
    are routed to, and none is listed that could never exist."""
    settings = mounted_settings(tmp_path)
    options = UpstreamOptions.model_validate(settings.backends["qwen3"].options)
    vllm = of_kind("StatefulSet")["vllm"]
    service = vllm["spec"]["serviceName"]
    (port,) = of_kind("Service")[service]["spec"]["ports"]
    hpa = of_kind("HorizontalPodAutoscaler")["vllm"]["spec"]
    expected = [f"http://vllm-{i}.{service}:{port['port']}/v1" for i in range(hpa["maxReplicas"])]
    assert [d.url for d in options.deployments] == expected
    assert hpa["minReplicas"] <= vllm["spec"]["replicas"] <= hpa["maxReplicas"]
    assert options.health_interval_seconds > 0  # how absent pods are found out


def test_the_platform_replicas_cover_the_openscope_autoscaler(tmp_path: Path) -> None:
    """While Redis is away each replica counts against 1/replicas of a limit: as many
    shares as the HPA may run replicas, or the limits multiply."""
    settings = mounted_settings(tmp_path)
    hpa = of_kind("HorizontalPodAutoscaler")["openscope"]["spec"]
    assert settings.platform.replicas == hpa["maxReplicas"]

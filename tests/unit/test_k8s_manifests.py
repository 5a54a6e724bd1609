"""The Kubernetes manifests (infra/k8s/), checked with no cluster: the KEDA ScaledObject
against the ScaledObject CRD's own OpenAPI schema (vendored in tests/data, see its README),
the Deployments' required fields, their commands and FLASHSALE_* variables against the
code, no secret values, and the scaler's topic, group and bounds against the settings."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from flashsale.autoscale.settings import PoolSettings
from flashsale.settings import KafkaSettings
from tests.unit.test_container_files import (
    SECRET_NAME,
    cli_command,
    env_names,
    has_main,
    settings_classes,
)

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "infra" / "k8s"
CRD = ROOT / "tests" / "data" / "keda.sh_scaledobjects.yaml"
WORKLOADS = ("Deployment", "Job")


@functools.cache
def resources() -> tuple[dict[str, Any], ...]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return tuple(
        doc
        for name in kustomization["resources"]
        for doc in yaml.safe_load_all((K8S / name).read_text())
        if doc is not None
    )


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in resources() if r["kind"] == kind}


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    return list(workload["spec"]["template"]["spec"]["containers"])


def workloads() -> list[dict[str, Any]]:
    return [r for r in resources() if r["kind"] in WORKLOADS]


def config() -> dict[str, str]:
    return dict(of_kind("ConfigMap")["flashsale-config"]["data"])


def scaler() -> dict[str, Any]:
    (scaled,) = of_kind("ScaledObject").values()
    return scaled


def kafka_trigger() -> dict[str, str]:
    (trigger,) = [t for t in scaler()["spec"]["triggers"] if t["type"] == "kafka"]
    return dict(trigger["metadata"])


def default(name: str) -> Any:
    return KafkaSettings.model_fields[name].default


# --- the files and the ScaledObject schema ----------------------------------------------------


def test_the_kustomization_lists_every_manifest() -> None:
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(listed) == sorted(present)


def crd_schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    return strict(version["schema"]["openAPIV3Schema"])


def strict(schema: Any) -> Any:
    """The schema as the API server applies it with strict field validation (kubectl's
    default): a field the schema does not declare is an error, not silently dropped."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def schema_errors(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(crd_schema())
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def test_the_scaled_object_follows_the_keda_crd_schema() -> None:
    assert scaler()["apiVersion"] == "keda.sh/v1alpha1"
    assert schema_errors(scaler()) == []


@pytest.mark.parametrize(
    "path, value",
    [
        (("spec", "minReplicaCounts"), 1),  # a typo
        (("spec", "maxReplicaCount"), "12"),  # a string
        (("spec", "scaleTargetRef"), {}),  # no name
        (("spec", "triggers", 0, "metadata", "lagThreshold"), 10_000),  # metadata are strings
    ],
)
def test_the_schema_check_catches_mistakes(path: tuple[Any, ...], value: Any) -> None:
    broken = yaml.safe_load(yaml.safe_dump(scaler()))
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert schema_errors(broken) != []


# --- the workloads against the code -----------------------------------------------------------


def test_workloads_have_the_required_fields() -> None:
    for workload in workloads():
        name, template = workload["metadata"]["name"], workload["spec"]["template"]
        assert workload["apiVersion"] == (
            "apps/v1" if workload["kind"] == "Deployment" else "batch/v1"
        )
        if workload["kind"] == "Deployment":
            selector = workload["spec"]["selector"]["matchLabels"]
            assert selector and selector.items() <= template["metadata"]["labels"].items(), name
        assert template["spec"]["securityContext"]["runAsNonRoot"] is True, name
        for container in containers(workload):
            assert container["name"] and container["image"] == "flashsale", name
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
            ports = {p["name"] for p in container.get("ports", [])}
            for probe in ("livenessProbe", "readinessProbe"):
                if probe in container:
                    assert container[probe]["httpGet"]["port"] in ports, f"{name} {probe}"


def test_every_command_is_a_real_entry_point() -> None:
    for workload in workloads():
        for container in containers(workload):
            command = container["command"]
            if command[:2] == ["python", "-m"]:
                assert len(command) == 3 and has_main(command[2]), command
            else:
                assert command[0] == "flashsale" and cli_command(command[1:]), command


def variables(container: dict[str, Any]) -> set[str]:
    """What the container gets: its env, and every key of the ConfigMaps it loads."""
    names = {e["name"] for e in container.get("env", [])}
    for source in container.get("envFrom", []):
        names |= set(of_kind("ConfigMap")[source["configMapRef"]["name"]]["data"])
    return names


def test_every_flashsale_variable_is_a_setting_of_its_service() -> None:
    unknown = {}
    for workload in workloads():
        for container in containers(workload):
            known = set().union(*(env_names(c) for c in settings_classes(container["command"])))
            extra = sorted(
                v for v in variables(container) if v.startswith("FLASHSALE_") and v not in known
            )
            if extra:
                unknown[container["name"]] = extra
    assert unknown == {}, "not settings of the service they are given to"


def test_no_secret_value_is_committed() -> None:
    assert of_kind("Secret") == {}, "the Secret is created by hand (infra/k8s/README.md)"
    for workload in workloads():
        for container in containers(workload):
            for entry in container.get("env", []):
                secret = SECRET_NAME.search(entry["name"]) or re.search(
                    r"://[^/@:]*:[^@]+@", str(entry.get("value", ""))
                )
                if secret or entry["name"] == "FLASHSALE_DATABASE_URL":
                    assert "value" not in entry and entry["valueFrom"]["secretKeyRef"], entry
    for key, value in config().items():
        assert not SECRET_NAME.search(key) and "@" not in value, key


def test_services_select_a_deployment_and_name_its_port() -> None:
    deployments = of_kind("Deployment")
    for name, service in of_kind("Service").items():
        selected = [
            d
            for d in deployments.values()
            if service["spec"]["selector"].items()
            <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(selected) == 1, name
        ports = {p["name"] for c in containers(selected[0]) for p in c.get("ports", [])}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports, name
    http = {n for n, d in deployments.items() if any("ports" in c for c in containers(d))}
    assert {"gateway", "order-service"} <= set(of_kind("Service")) <= http


# --- the scaler against the settings ----------------------------------------------------------


def test_the_scaler_reads_the_inventory_groups_lag_on_the_orders_topic() -> None:
    trigger = kafka_trigger()
    assert trigger["topic"] == default("orders_topic") == config()["FLASHSALE_ORDERS_TOPIC"]
    group = default("inventory_group_id")
    assert trigger["consumerGroup"] == group == config()["FLASHSALE_INVENTORY_GROUP_ID"]
    assert trigger["bootstrapServers"] == config()["FLASHSALE_KAFKA_BOOTSTRAP"]
    assert int(trigger["lagThreshold"]) == PoolSettings.model_fields["scale_up_lag"].default
    assert int(trigger["activationLagThreshold"]) >= 0


def test_the_scaler_targets_the_plain_inventory_consumer_within_the_partitions() -> None:
    spec = scaler()["spec"]
    target = of_kind("Deployment")[spec["scaleTargetRef"]["name"]]
    assert [c["command"] for c in containers(target)] == [["python", "-m", "inventory_consumer"]]
    assert "replicas" not in target["spec"], "the HPA KEDA makes owns the replica count"
    partitions = default("orders_partitions")
    assert int(config()["FLASHSALE_ORDERS_PARTITIONS"]) == partitions
    # Never 0: the outbox relay and the expiry run inside the consumer.
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"] == partitions
    assert kafka_trigger().get("allowIdleConsumers", "false") == "false"

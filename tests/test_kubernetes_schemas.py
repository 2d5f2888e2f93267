"""Every core Kubernetes object a stack renders is accepted by the Kubernetes OpenAPI schema, strictly.

The schemas come from kubernetes-validate (generated from the upstream OpenAPI document of the
Kubernetes release we target); strict mode rejects any property the API server would drop.
"""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
from meshstack.render import render_workloads_list
from meshstack.spec import MeshSpec

KUBERNETES_VERSION = "1.34.0"


def strict_errors(obj: dict[str, Any]) -> list[str]:
    """The schema problems of one object, empty when the API server would accept it as written."""
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        where = ".".join(str(p) for p in error.absolute_path)
        return [f"{obj['kind']}/{obj['metadata']['name']} {where}: {error.message}"]
    return []


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_kubernetes_accepts_every_rendered_core_object(
    stack: str, stack_specs: dict[str, MeshSpec]
) -> None:
    # Istio's kinds among them (a workload on machines) are Istio's CRDs' to judge.
    objects = [
        obj
        for obj in render_workloads_list(stack_specs[stack])
        if not obj["apiVersion"].split("/")[0].endswith(".istio.io")
    ]
    kinds = {obj["kind"] for obj in objects}
    assert {"Namespace", "ServiceAccount", "Service", "Deployment"} <= kinds
    errors = [problem for obj in objects for problem in strict_errors(obj)]
    assert errors == []


def test_the_strict_schema_rejects_a_misplaced_field(stack_specs: dict[str, MeshSpec]) -> None:
    deployment = next(
        o for o in render_workloads_list(stack_specs["dev"]) if o["kind"] == "Deployment"
    )
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    assert strict_errors(broken) != []


def test_the_schema_rejects_a_port_given_as_a_string(stack_specs: dict[str, MeshSpec]) -> None:
    service = next(o for o in render_workloads_list(stack_specs["dev"]) if o["kind"] == "Service")
    port = {**service["spec"]["ports"][0], "port": "9080"}
    broken = {**service, "spec": {**service["spec"], "ports": [port]}}
    assert strict_errors(broken) != []

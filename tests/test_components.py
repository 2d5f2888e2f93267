"""The Pulumi shell registers exactly the rendered objects, with parents and ordering."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest
from builders import route, shop
from conftest import RecordingMocks
from meshstack.components import MeshStack, MeshStackArgs
from meshstack.render import render
from meshstack.spec import Destination
from meshstack.validation import SpecInvalid


def _all_registered(mesh: MeshStack) -> pulumi.Output[list[str]]:
    children = [
        *mesh.namespaces.by_name.values(),
        *mesh.workloads.resources,
        *mesh.policy.resources,
    ]
    return pulumi.Output.all(*(c.urn for c in children))


@pulumi.runtime.test
def test_every_rendered_object_reaches_the_engine_with_its_inputs(engine: RecordingMocks) -> Any:
    spec = shop(virtual_services=(route(Destination(service="api", subset="v1")),))
    mesh = MeshStack("mesh", MeshStackArgs(spec=spec))

    def check(_: Any) -> None:
        expected = {
            (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in render(spec)
        }
        seen = set()
        for res in engine.resources:
            if res.typ.startswith("meshstack:"):
                continue
            kind = res.inputs.get("kind") or res.typ.rsplit(":", 1)[-1]
            meta = res.inputs["metadata"]
            seen.add((kind, meta.get("namespace"), meta["name"]))
        assert seen == expected
        vs = next(r for r in engine.resources if r.inputs.get("kind") == "VirtualService")
        assert vs.typ == "kubernetes:networking.istio.io/v1:VirtualService"
        assert vs.name == "mesh-policy-virtualservice-shop-api"
        assert vs.inputs["spec"]["http"][0]["route"][0]["destination"]["subset"] == "v1"
        deployment = next(r for r in engine.resources if r.typ == "kubernetes:apps/v1:Deployment")
        assert deployment.inputs["spec"]["replicas"] == 1

    return _all_registered(mesh).apply(check)


@pulumi.runtime.test
def test_children_are_parented_and_policy_waits_for_crds_and_namespaces(
    engine: RecordingMocks,
) -> Any:
    crds = pulumi.CustomResource("test:index:Crds", "istio-base")
    mesh = MeshStack("mesh", MeshStackArgs(spec=shop(), crds=[crds], protect_namespaces=True))

    def check(_: Any) -> None:
        reg = engine.registrations
        workloads, policy = reg["mesh-workloads"].urn, reg["mesh-policy"].urn
        assert reg["mesh-workloads"].parent == reg["mesh"].urn
        namespace = reg["mesh-namespaces-namespace-shop"]
        assert namespace.parent == reg["mesh-namespaces"].urn and namespace.protect
        deployment = reg["mesh-workloads-deployment-shop-api-v1"]
        assert deployment.parent == workloads
        assert namespace.urn in deployment.dependencies and not deployment.protect
        rule = reg["mesh-policy-destinationrule-shop-api"]
        assert rule.parent == policy
        assert reg["istio-base"].urn in rule.dependencies
        assert namespace.urn in rule.dependencies

    return _all_registered(mesh).apply(check)


@pulumi.runtime.test
def test_deployments_register_as_apps_v1_without_legacy_api_aliases(
    engine: RecordingMocks,
) -> Any:
    """The typed Deployment class would add aliases to three API versions Kubernetes
    removed in 1.16; computing them costs a fifth of a large program's time."""
    mesh = MeshStack("mesh", MeshStackArgs(spec=shop()))

    def check(_: Any) -> None:
        deployment = engine.registrations["mesh-workloads-deployment-shop-api-v1"]
        assert deployment.urn.endswith(
            "meshstack:index:MeshWorkloads$kubernetes:apps/v1:Deployment"
            "::mesh-workloads-deployment-shop-api-v1"
        )
        assert deployment.aliases == ()
        registered = json.loads(deployment.plain_inputs)
        assert (registered["apiVersion"], registered["kind"]) == ("apps/v1", "Deployment")

    return _all_registered(mesh).apply(check)


def test_an_invalid_spec_registers_nothing(engine: RecordingMocks) -> None:
    broken = shop(virtual_services=(route(Destination(service="api", subset="nope")),))
    with pytest.raises(SpecInvalid, match="subset 'nope'"):
        MeshStack("broken", MeshStackArgs(spec=broken))
    assert engine.resources == []

"""The Pulumi shell registers exactly the rendered objects, with parents and ordering."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
from builders import route, shop
from conftest import RecordingMocks
from meshstack.components import MeshStack, MeshStackArgs
from meshstack.components.registry import child_name, register_object
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
def test_objects_reach_the_engine_as_pulumi_kubernetes_classes_would_send_them(
    engine: RecordingMocks,
) -> Any:
    """meshstack registers plain CustomResources (the generated classes cost a third of
    a large program's time); the engine must not be able to tell, except that Deployments
    come without the generated class's aliases to API versions removed in Kubernetes 1.16."""
    objects = render(shop(virtual_services=(route(Destination(service="api", subset="v1")),)))
    generated_classes: dict[str, Callable[..., pulumi.CustomResource]] = {
        "Namespace": k8s.core.v1.Namespace,
        "ServiceAccount": k8s.core.v1.ServiceAccount,
        "Service": k8s.core.v1.Service,
        "Deployment": k8s.apps.v1.Deployment,
    }
    parent = pulumi.ComponentResource("test:index:Parent", "parent")
    namespace = pulumi.CustomResource("test:index:Namespace", "existing-namespace")
    samples = {o["kind"]: o for o in objects}
    registered: list[pulumi.Resource] = []
    assert {"Namespace", "ServiceAccount", "Service", "Deployment", "VirtualService"} <= set(
        samples
    )
    for kind, obj in samples.items():
        opts = pulumi.ResourceOptions(parent=parent, depends_on=[namespace], protect=True)
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
        if kind in generated_classes:
            theirs = generated_classes[kind](f"generated-{kind}", opts=opts, **body)
        else:
            theirs = k8s.apiextensions.CustomResource(
                f"generated-{kind}", api_version=obj["apiVersion"], kind=kind, opts=opts, **body
            )
        ours = register_object("ours", obj, parent=parent, depends_on=[namespace], protect=True)
        registered += [theirs, ours]

    def check(_: Any) -> None:
        for kind, obj in samples.items():
            ours = engine.registrations[child_name("ours", obj)]
            theirs = engine.registrations[f"generated-{kind}"]
            assert ours.type == theirs.type, kind
            assert ours.urn == theirs.urn.replace(f"generated-{kind}", child_name("ours", obj))
            assert ours.plain_inputs == theirs.plain_inputs, kind
            assert ours.plugin_version == theirs.plugin_version != "", kind
            assert (ours.parent, ours.dependencies, ours.protect) == (
                theirs.parent,
                theirs.dependencies,
                theirs.protect,
            )
            assert ours.aliases == ()
            assert (theirs.aliases != ()) == (kind == "Deployment"), kind

    return pulumi.Output.all(*(r.urn for r in registered)).apply(check)


def test_an_invalid_spec_registers_nothing(engine: RecordingMocks) -> None:
    broken = shop(virtual_services=(route(Destination(service="api", subset="nope")),))
    with pytest.raises(SpecInvalid, match="subset 'nope'"):
        MeshStack("broken", MeshStackArgs(spec=broken))
    assert engine.resources == []

"""Hosts as Istio matches them: a route bound to a Gateway must name a host that Gateway
serves (istioctl's IST0132), and a hostname exposed at the edge is never rewritten."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import PROJECT
from meshstack.render import render
from meshstack.spec import (
    Destination,
    Gateway,
    GatewayServer,
    HttpRoute,
    MeshSpec,
    VirtualService,
)
from meshstack.stacks import load_spec
from meshstack.validation import validate


def _ingress_hosts(spec: MeshSpec) -> dict[str, tuple[list[str], list[str]]]:
    """Route name → (its hosts, the hosts its gateways serve): VirtualServices and the
    Istio Gateways they bind to, HTTPRoutes and the listeners of their ``parentRefs``."""
    objects = render(spec)
    served = {
        (o["metadata"]["namespace"], o["metadata"]["name"]): [
            h for s in o["spec"]["servers"] for h in s["hosts"]
        ]
        for o in objects
        if o["kind"] == "Gateway" and o["apiVersion"].startswith("networking.istio.io")
    }
    listeners = {
        (o["metadata"]["namespace"], o["metadata"]["name"], x["name"]): x.get("hostname", "*")
        for o in objects
        if o["kind"] == "Gateway" and o["apiVersion"].startswith("gateway.networking.k8s.io")
        for x in o["spec"]["listeners"]
    }
    bound = {}
    for o in objects:
        if o["kind"] == "HTTPRoute":
            namespace = o["metadata"]["namespace"]
            parents = [
                listeners[(p.get("namespace", namespace), p["name"], p["sectionName"])]
                for p in o["spec"]["parentRefs"]
            ]
            bound[o["metadata"]["name"]] = (o["spec"].get("hostnames", ["*"]), parents)
        if o["kind"] != "VirtualService":
            continue
        gateways = [g for g in o["spec"].get("gateways", []) if g != "mesh"]
        for g in gateways:
            namespace, _, name = g.rpartition("/")
            key = (namespace or o["metadata"]["namespace"], name)
            if key in served:
                bound[o["metadata"]["name"]] = (o["spec"]["hosts"], served[key])
    return bound


@pytest.mark.parametrize("stack", ("dev", "staging", "prod"))
def test_every_gateway_route_names_a_host_its_gateway_serves(stack: str) -> None:
    spec = load_spec(stack, PROJECT / "stacks")
    bound = _ingress_hosts(spec)
    assert bound, "every stack exposes the sample apps at the edge"
    for name, (hosts, served) in bound.items():
        # Istio binds the hosts its Gateway serves; a route serving none binds to nothing.
        assert "*" in served or set(hosts) & set(served), f"{name}: {hosts} vs {served}"


def _spec_with(vs_hosts: tuple[str, ...], served: tuple[str, ...]) -> MeshSpec:
    from builders import shop

    base = shop()
    gateway = Gateway(
        name="edge", namespace="shop", servers=(GatewayServer(port=80, hosts=served),)
    )
    route = VirtualService(
        name="web-edge",
        namespace="shop",
        hosts=vs_hosts,
        gateways=("edge",),
        http=(HttpRoute(destinations=(Destination(service="web"),)),),
    )
    policy = base.policy.model_copy(
        update={"gateways": (gateway,), "virtual_services": (*base.policy.virtual_services, route)}
    )
    return base.model_copy(update={"policy": policy})


def test_a_route_whose_host_its_gateway_does_not_serve_is_rejected_with_its_path() -> None:
    problems = validate(_spec_with(("web",), ("shop.example.test",)))
    messages = [str(p) for p in problems if "web-edge" in p.path]
    assert any(
        "policy.virtual_services[web-edge].hosts[0]" in m
        and "'web.shop.svc.cluster.local' not served by Gateway 'edge'" in m
        and "['shop.example.test']" in m
        for m in messages
    ), messages


def test_an_edge_hostname_renders_as_written() -> None:
    spec = _spec_with(("shop.example.test",), ("shop.example.test",))
    assert [p for p in validate(spec) if "web-edge" in p.path] == []
    (route,) = [o for o in render(spec) if o["metadata"]["name"] == "web-edge"]
    assert route["spec"]["hosts"] == ["shop.example.test"]


def test_a_host_that_is_neither_a_service_nor_served_nor_external_is_an_error() -> None:
    problems = validate(_spec_with(("nosuch",), ("*",)))
    assert any(
        p.path == "policy.virtual_services[web-edge].hosts[0]" and "'nosuch'" in p.message
        for p in problems
    ), [str(p) for p in problems]


def test_service_hosts_use_the_cluster_domain_not_the_trust_domain() -> None:
    spec = _spec_with(("web",), ("*",)).model_copy(
        update={"trust_domain": "corp.example", "cluster_domain": "cluster.internal"}
    )
    (route,) = [o for o in render(spec) if o["metadata"]["name"] == "web-edge"]
    assert route["spec"]["hosts"] == ["web.shop.svc.cluster.internal"]


@pytest.mark.cluster
def test_istioctl_agrees_that_an_unserved_gateway_route_is_wrong(tmp_path: Path) -> None:
    """Our IST0132 rule and Istio's analyzer judge the same broken spec alike."""
    from istioctl import analyze

    spec = _spec_with(("web",), ("shop.example.test",))
    assert any("not served by Gateway" in p.message for p in validate(spec))
    (tmp_path / "objects.yaml").write_text(yaml.safe_dump_all(render(spec)))
    codes = {(m["code"], m["origin"]) for m in analyze(tmp_path)}
    assert ("IST0132", "VirtualService shop/web-edge") in codes

    fixed = _spec_with(("shop.example.test",), ("shop.example.test",))
    assert [p for p in validate(fixed) if "web-edge" in p.path] == []
    (tmp_path / "objects.yaml").write_text(yaml.safe_dump_all(render(fixed)))
    assert not [m for m in analyze(tmp_path) if m["code"] == "IST0132"]

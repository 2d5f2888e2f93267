"""Each stack renders what its docstring promises; full renders are kept as snapshots.

Set ``UPDATE_SNAPSHOTS=1`` to rewrite the snapshots after an intended change,
then review their diff like any other code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from meshstack.render import render
from meshstack.spec import MeshSpec

SNAPSHOTS = Path(__file__).parent / "snapshots"


def objects_of(spec: MeshSpec, kind: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (o["metadata"].get("namespace", ""), o["metadata"]["name"]): o
        for o in render(spec)
        if o["kind"] == kind
    }


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_rendered_stack_matches_its_snapshot(stack: str, stack_specs: dict[str, MeshSpec]) -> None:
    rendered = yaml.safe_dump_all(render(stack_specs[stack]), sort_keys=False)
    snapshot = SNAPSHOTS / f"{stack}.yaml"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        snapshot.parent.mkdir(exist_ok=True)
        snapshot.write_text(rendered)
    assert rendered == snapshot.read_text(), f"run UPDATE_SNAPSHOTS=1 make unit to accept {stack}"


def test_dev_is_permissive_with_reviews_split_50_50_and_fault_drills(
    stack_specs: dict[str, MeshSpec],
) -> None:
    dev = stack_specs["dev"]
    (mesh_mtls,) = objects_of(dev, "PeerAuthentication").values()
    assert mesh_mtls["spec"]["mtls"]["mode"] == "PERMISSIVE"
    services = objects_of(dev, "VirtualService")
    reviews = services[("bookinfo", "reviews")]["spec"]["http"]
    assert reviews[0]["match"] == [{"headers": {"end-user": {"exact": "jason"}}}]
    assert reviews[0]["route"][0]["destination"]["subset"] == "v2"
    assert [(r["destination"]["subset"], r["weight"]) for r in reviews[-1]["route"]] == [
        ("v1", 50),
        ("v3", 50),
    ]
    catalog = services[("hipster-shop", "productcatalogservice")]["spec"]["http"][0]
    assert catalog["fault"]["delay"] == {"fixedDelay": "5s", "percentage": {"value": 10}}
    cart = services[("hipster-shop", "cartservice")]["spec"]["http"][0]
    assert cart["fault"]["abort"] == {"httpStatus": 500, "percentage": {"value": 5}}


def test_staging_is_strict_with_a_90_10_reviews_canary_and_a_header_canary_for_frontend(
    stack_specs: dict[str, MeshSpec],
) -> None:
    staging = stack_specs["staging"]
    (mesh_mtls,) = objects_of(staging, "PeerAuthentication").values()
    assert mesh_mtls["spec"]["mtls"]["mode"] == "STRICT"
    services = objects_of(staging, "VirtualService")
    split = services[("bookinfo", "reviews")]["spec"]["http"][0]["route"]
    assert [(r["destination"]["subset"], r["weight"]) for r in split] == [("v1", 90), ("v3", 10)]
    frontend = services[("hipster-shop", "frontend")]["spec"]
    assert "boutique-gateway" in frontend["gateways"]
    assert frontend["http"][0]["match"] == [{"headers": {"canary": {"exact": "true"}}}]
    assert frontend["http"][0]["route"][0]["destination"]["subset"] == "v2"
    assert ("hipster-shop", "frontend-v2") in objects_of(staging, "Deployment")
    cart = objects_of(staging, "AuthorizationPolicy")[("hipster-shop", "cartservice-from-frontend")]
    sources = cart["spec"]["rules"][0]["from"]
    assert sources == [{"source": {"principals": ["cluster.local/ns/hipster-shop/sa/frontend"]}}]


def test_prod_denies_by_default_and_allows_only_the_call_graph(
    stack_specs: dict[str, MeshSpec],
) -> None:
    prod = stack_specs["prod"]
    policies = objects_of(prod, "AuthorizationPolicy")
    for namespace in ("bookinfo", "hipster-shop"):
        assert policies[(namespace, "default-deny")]["spec"] == {}
    ratings = policies[("bookinfo", "allow-ratings")]["spec"]["rules"][0]["from"][0]["source"]
    assert ratings["principals"] == ["cluster.local/ns/bookinfo/sa/bookinfo-reviews"]
    productpage = policies[("bookinfo", "allow-productpage")]["spec"]["rules"][0]["from"][0]
    assert productpage["source"]["principals"] == [
        "cluster.local/ns/istio-ingress/sa/istio-ingressgateway"
    ]
    assert ("istio-ingress", "ingress-jwt-require-token") in policies
    assert ("istio-ingress", "ingress-jwt") in objects_of(prod, "RequestAuthentication")


def test_prod_has_a_circuit_breaker_retries_and_no_faults(stack_specs: dict[str, MeshSpec]) -> None:
    prod = stack_specs["prod"]
    rule = objects_of(prod, "DestinationRule")[("hipster-shop", "productcatalogservice")]
    assert rule["spec"]["trafficPolicy"]["outlierDetection"]["consecutive5xxErrors"] == 5
    assert rule["spec"]["trafficPolicy"]["connectionPool"]["http"]["http1MaxPendingRequests"] == 10
    services = objects_of(prod, "VirtualService")
    catalog = services[("hipster-shop", "productcatalogservice")]["spec"]["http"][0]
    assert catalog["retries"]["retryOn"] == "5xx,reset,connect-failure"
    assert not any("fault" in r for vs in services.values() for r in vs["spec"].get("http", []))
    assert ("hipster-shop", "loadgenerator-v1") not in objects_of(prod, "Deployment")


def test_online_boutique_runs_in_hipster_shop_with_its_upstream_ports(
    stack_specs: dict[str, MeshSpec],
) -> None:
    services = objects_of(stack_specs["dev"], "Service")
    ports = {
        name: svc["spec"]["ports"][0]["port"]
        for (ns, name), svc in services.items()
        if ns == "hipster-shop"
    }
    assert ports == {
        "frontend": 80, "cartservice": 7070, "productcatalogservice": 3550,
        "currencyservice": 7000, "paymentservice": 50051, "shippingservice": 50051,
        "emailservice": 5000, "checkoutservice": 5050, "recommendationservice": 8080,
        "adservice": 9555, "redis-cart": 6379,
    }  # fmt: skip
    assert services[("hipster-shop", "emailservice")]["spec"]["ports"][0]["targetPort"] == 8080

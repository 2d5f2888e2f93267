"""Egress through the egress gateway with TLS originated there (issue 15 §3).

The rendered objects are followed the way the proxies use them — the caller's sidecar
picks a route by host and port, the subset's port settings say how it reaches the gateway,
the gateway's server decides what it accepts, its route where the request goes next, and
the external host's DestinationRule how the gateway connects — so the test judges the path a
request takes, not the text of the objects. A wrong port, a missing ``ISTIO_MUTUAL`` or SNI,
or a policy selecting the wrong pods breaks a hop and fails here. The same objects are
applied to a real API server and analyzed by istioctl with the prod stack
(``test_engine_cluster``, ``test_engine_render``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from builders import shop
from meshstack.render import render
from meshstack.spec import (
    ExternalService,
    GatewayInstall,
    GatewayRole,
    GatewayWorkload,
    IstioInstall,
    MeshSpec,
    Namespace,
    Protocol,
    ServicePort,
    TlsOrigination,
)
from meshstack.validation import validate

Objects = list[dict[str, Any]]


def _find(objects: Objects, kind: str, test: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and test(o)]
    assert len(found) == 1, f"expected one {kind}, found {[o['metadata'] for o in found]}"
    return found[0]


def _route(vs: dict[str, Any], gateway: str, port: int) -> dict[str, Any]:
    """The destination of the first HTTP route that matches ``gateway`` and ``port``."""
    for rule in vs["spec"]["http"]:
        for match in rule["match"]:
            if gateway in match["gateways"] and match.get("port") in (None, port):
                (destination,) = rule["route"]
                return dict(destination["destination"])
    raise AssertionError(f"no route for {gateway}:{port} in {vs['metadata']['name']}")


def _port_tls(policy: dict[str, Any], port: int) -> dict[str, Any]:
    for setting in policy.get("trafficPolicy", {}).get("portLevelSettings", ()):
        if setting["port"]["number"] == port:
            return dict(setting["tls"])
    raise AssertionError(f"no TLS settings for port {port}")


@dataclass
class EgressPath:
    to_gateway: dict[str, Any]
    """How the caller's sidecar connects to the gateway (the subset's TLS settings)."""
    gateway_server: dict[str, Any]
    to_host: dict[str, Any]
    """How the gateway connects to the external host."""
    host_port: dict[str, Any]
    """The ServiceEntry port the gateway sends to."""
    callers: set[str]
    """Principals the gateway's ALLOW policies let through to the host."""


def follow(objects: Objects, host: str, port: int, gateway_labels: dict[str, str]) -> EgressPath:
    """A request from a sidecar to ``http://host:port``, hop by hop."""
    vs = _find(objects, "VirtualService", lambda o: host in o["spec"]["hosts"])
    first = _route(vs, "mesh", port)
    gateway_host, subset, gateway_port = first["host"], first["subset"], first["port"]["number"]
    gateway_namespace = gateway_host.split(".")[1]
    rule = _find(
        objects,
        "DestinationRule",
        lambda o: (
            o["spec"]["host"] == gateway_host
            and subset in {s["name"] for s in o["spec"].get("subsets", ())}
        ),
    )
    (subset_spec,) = [s for s in rule["spec"]["subsets"] if s["name"] == subset]
    to_gateway = _port_tls(subset_spec, gateway_port)

    (gateway_name,) = [g for g in vs["spec"]["gateways"] if g != "mesh"]
    gateway = _find(
        objects,
        "Gateway",
        lambda o: (
            o["metadata"]["name"] == gateway_name
            and o["metadata"]["namespace"] == vs["metadata"]["namespace"]
        ),
    )
    assert gateway["spec"]["selector"] == gateway_labels, "the Gateway selects other pods"
    (server,) = [s for s in gateway["spec"]["servers"] if s["port"]["number"] == gateway_port]
    assert host in server["hosts"]

    second = _route(vs, gateway_name, gateway_port)
    assert second["host"] == host
    host_port = second["port"]["number"]
    origination = _find(
        objects,
        "DestinationRule",
        lambda o: o["spec"]["host"] == host and "subsets" not in o["spec"],
    )
    assert origination["metadata"]["namespace"] == gateway_namespace
    assert origination["spec"]["workloadSelector"] == {"matchLabels": gateway_labels}, (
        "TLS must be originated by the gateway, and only there"
    )
    entry = _find(objects, "ServiceEntry", lambda o: host in o["spec"]["hosts"])
    (entry_port,) = [p for p in entry["spec"]["ports"] if p["number"] == host_port]

    callers: set[str] = set()
    for policy in objects:
        if policy["kind"] != "AuthorizationPolicy" or policy["spec"].get("action") != "ALLOW":
            continue
        if policy["metadata"]["namespace"] != gateway_namespace:
            continue
        if policy["spec"].get("selector", {}).get("matchLabels") != gateway_labels:
            continue
        for allow in policy["spec"]["rules"]:
            hosts = {h for to in allow.get("to", ()) for h in to["operation"].get("hosts", ())}
            if host in hosts:
                callers.update(p for f in allow["from"] for p in f["source"]["principals"])
    return EgressPath(
        to_gateway, server, _port_tls(origination["spec"], host_port), entry_port, callers
    )


def test_prod_reaches_the_payments_api_over_mtls_then_tls_from_one_caller_only(
    stack_specs: dict[str, MeshSpec],
) -> None:
    spec = stack_specs["prod"]
    egress = next(w for w in spec.gateway_workloads if w.name == "istio-egressgateway")
    path = follow(render(spec), "payments.meshstack.test", 80, dict(egress.selector))

    assert path.to_gateway == {"mode": "ISTIO_MUTUAL", "sni": "payments.meshstack.test"}
    assert path.gateway_server["port"]["protocol"] == "HTTPS"
    assert path.gateway_server["tls"] == {"mode": "ISTIO_MUTUAL"}
    assert path.to_host == {
        "mode": "SIMPLE",
        "sni": "payments.meshstack.test",
        "caCertificates": "system",
    }
    assert path.host_port == {"number": 443, "name": "https-443", "protocol": "HTTPS"}
    assert path.callers == {"cluster.local/ns/hipster-shop/sa/paymentservice"}
    assert spec.install is not None
    assert spec.install.mesh_config.outbound_traffic_policy.value == "REGISTRY_ONLY"


PAYMENTS = ExternalService(
    name="payments",
    namespace="shop",
    hosts=("pay.example.com",),
    ports=(ServicePort(number=80, protocol=Protocol.HTTP),),
    via_egress_gateway=True,
    tls_origination=TlsOrigination(),
    allowed_callers=("shop/web",),
)


def egress_mesh(**fields: Any) -> MeshSpec:
    """``shop`` with an egress gateway installed in ``istio-egress`` and one external API."""
    egress = GatewayWorkload(
        name="istio-egressgateway",
        namespace="istio-egress",
        selector={"istio": "egressgateway"},
        service_account="istio-egressgateway",
    )
    base = shop()
    return base.model_copy(
        update={
            "namespaces": (*base.namespaces, Namespace(name="istio-egress")),
            "gateway_workloads": (*base.gateway_workloads, egress),
            "install": IstioInstall(
                gateways=(
                    GatewayInstall(),
                    GatewayInstall(
                        name="istio-egressgateway",
                        namespace="istio-egress",
                        role=GatewayRole.EGRESS,
                    ),
                )
            ),
            "policy": base.policy.model_copy(
                update={"external_services": (PAYMENTS.model_copy(update=fields),)}
            ),
        }
    )


def test_the_valid_egress_passes_and_a_second_service_uses_its_own_callers() -> None:
    assert validate(egress_mesh()) == []
    spec = egress_mesh()
    path = follow(render(spec), "pay.example.com", 80, {"istio": "egressgateway"})
    assert path.callers == {"cluster.local/ns/shop/sa/web"}
    own_ca = egress_mesh(
        tls_origination=TlsOrigination(ca_secret="pay-ca", sni="api.pay.example.com")
    )
    path = follow(render(own_ca), "pay.example.com", 80, {"istio": "egressgateway"})
    assert path.to_host == {
        "mode": "SIMPLE",
        "sni": "api.pay.example.com",
        "credentialName": "pay-ca",
    }


MISTAKES: dict[str, tuple[dict[str, Any], str, str]] = {
    "origination without the gateway": (
        {"via_egress_gateway": False, "allowed_callers": ()},
        "tls_origination",
        "set via_egress_gateway=True",
    ),
    "callers without the gateway": (
        {"via_egress_gateway": False, "tls_origination": None},
        "allowed_callers",
        "set via_egress_gateway=True",
    ),
    "callers checked on a pass-through stream": (
        {"tls_origination": None, "ports": (ServicePort(number=443, protocol=Protocol.TLS),)},
        "allowed_callers",
        "set tls_origination",
    ),
    "callers who do not exist": (
        {"allowed_callers": ("shop/checkout",)},
        "allowed_callers[0]",
        "no workload runs as service account shop/checkout",
    ),
    "TLS spoken by the caller and originated again": (
        {"ports": (ServicePort(number=80, protocol=Protocol.HTTPS),)},
        "ports[0].protocol",
        "use Protocol.HTTP",
    ),
    "TLS port equal to the caller's port": (
        {
            "ports": (ServicePort(number=443, protocol=Protocol.HTTP),),
            "tls_origination": TlsOrigination(port=443),
        },
        "tls_origination.port",
        "must differ",
    ),
    "a port the egress gateway does not serve": (
        {"ports": (ServicePort(number=8080, protocol=Protocol.HTTP),)},
        "ports[0].number",
        "no Service port 8080",
    ),
    "no host at all": ({"hosts": ()}, "hosts", "needs a host"),
    "two hosts through one gateway route": (
        {"hosts": ("pay.example.com", "refund.example.com")},
        "hosts",
        "one external service per host",
    ),
}


def _example(fields: dict[str, Any]) -> Callable[[], MeshSpec]:
    return lambda: egress_mesh(**fields)


EXAMPLES: dict[str, tuple[Callable[[], MeshSpec], str, str]] = {
    case: (_example(fields), f"policy.external_services[payments].{field}", message)
    for case, (fields, field, message) in MISTAKES.items()
}
"""The mistakes in the shape of ``test_validation.INVALID``: istioctl judges them too."""


@pytest.mark.parametrize("case", sorted(EXAMPLES), ids=str)
def test_an_egress_mistake_is_reported_at_its_path(case: str) -> None:
    build, path, message = EXAMPLES[case]
    problems = validate(build())
    assert any(p.path == path and message in p.message for p in problems), "\n".join(
        map(str, problems)
    )


def test_an_unrestricted_service_behind_a_restricted_gateway_is_an_error() -> None:
    spec = egress_mesh()
    open_api = PAYMENTS.model_copy(
        update={"name": "maps", "hosts": ("maps.example.com",), "allowed_callers": ()}
    )
    policy = spec.policy.model_copy(
        update={"external_services": (*spec.policy.external_services, open_api)}
    )
    problems = validate(spec.model_copy(update={"policy": policy}))
    assert [(p.path, "external_services[payments]" in p.message) for p in problems] == [
        ("policy.external_services[maps].allowed_callers", True)
    ]

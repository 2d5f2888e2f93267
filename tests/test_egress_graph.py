"""Who can reach each external host: the graph and the diff cover egress (issue 15 §5).

A host is reached from a workload's sidecar only when the sidecar knows the host (its
Sidecar's egress hosts, or ALLOW_ANY passthrough), and through an egress gateway that
names its callers only by those identities.
"""

from __future__ import annotations

from builders import shop
from meshstack.access.authorization import Verdict
from meshstack.access.egress import who_can_reach_external
from meshstack.diff import diff
from meshstack.spec import (
    ExternalService,
    MeshSpec,
    OutboundPolicy,
    Protocol,
    ServicePort,
    SidecarScope,
)
from test_egress_origination import PAYMENTS, egress_mesh


def _reach(spec: MeshSpec) -> dict[tuple[str, str], Verdict]:
    return {(c.caller, c.callee): c.verdict for c in who_can_reach_external(spec)}


def test_the_gateway_lets_only_the_named_callers_reach_the_host(
    stack_specs: dict[str, MeshSpec],
) -> None:
    reach = _reach(egress_mesh())
    assert reach == {
        ("shop/web", "external/pay.example.com"): Verdict.ALLOWED,
        ("shop/api", "external/pay.example.com"): Verdict.DENIED,
    }
    prod = _reach(stack_specs["prod"])
    allowed = sorted(caller for (caller, _), v in prod.items() if v is Verdict.ALLOWED)
    assert allowed == ["hipster-shop/paymentservice"]


def test_a_sidecar_scope_hides_the_host_unless_outbound_traffic_is_open() -> None:
    direct = ExternalService(
        name="maps",
        namespace="shop",
        hosts=("maps.example.com",),
        ports=(ServicePort(number=443, protocol=Protocol.TLS),),
    )
    open_mesh = shop(external_services=(direct,))
    assert set(_reach(open_mesh).values()) == {Verdict.ALLOWED}

    elsewhere = ("istio-system/*",)
    closed = shop(
        external_services=(direct,),
        sidecars=(
            SidecarScope(
                namespace="shop",
                egress_hosts=elsewhere,
                outbound_policy=OutboundPolicy.REGISTRY_ONLY,
            ),
        ),
    )
    assert set(_reach(closed).values()) == {Verdict.DENIED}
    passthrough = shop(
        external_services=(direct,),
        sidecars=(SidecarScope(namespace="shop", egress_hosts=elsewhere),),
    )
    reasons = {c.reason for c in who_can_reach_external(passthrough)}
    assert set(_reach(passthrough).values()) == {Verdict.ALLOWED}
    assert any("ALLOW_ANY" in r for r in reasons), reasons


def test_the_diff_flags_a_caller_that_can_newly_reach_an_external_host() -> None:
    base = egress_mesh()
    head = egress_mesh(allowed_callers=(*PAYMENTS.allowed_callers, "shop/api"))
    lines = {c.line(): c.risk for c in diff(base, head)}
    widened = [
        risk for line, risk in lines.items() if "shop/api → external/pay.example.com" in line
    ]
    assert widened and widened[0] is not None and "access widened" in widened[0], lines

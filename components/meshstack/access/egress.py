"""Who can reach each external host: the egress half of "who can call whom".

Istio decides it in two places. The caller's sidecar must know the host: its Sidecar's
egress hosts must include the ServiceEntry's namespace and host, or else only
``ALLOW_ANY`` passes the traffic through (unaudited) while ``REGISTRY_ONLY`` drops it.
Then, when the host is routed through an egress gateway that names its callers
(``ExternalService.allowed_callers``), only those identities get out. The verdicts use
the graph's ``Call`` so that ``meshstack graph`` lists them and the diff compares them
like any other permission (``caller → external/<host>``).
"""

from __future__ import annotations

from meshstack.access.authorization import Call, Endpoint, Verdict, endpoints
from meshstack.access.sidecar_scope import imports, outbound_policy, scope_of
from meshstack.spec.edge import ExternalService
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.observability import OutboundPolicy
from meshstack.spec.refs import service_account_key

EXTERNAL = "external"
"""The pseudo-namespace external hosts are labelled with (``external/<host>``)."""


def _judge(
    spec: MeshSpec, caller: Endpoint, ext: ExternalService, host: str
) -> tuple[Verdict, str]:
    scope = scope_of(spec, caller.key)
    if scope is not None and not imports(scope, caller.key, ext.namespace, host):
        if outbound_policy(spec, scope) is OutboundPolicy.REGISTRY_ONLY:
            return Verdict.DENIED, f"not in Sidecar {scope.namespace}/{scope.name}'s egress hosts"
        return Verdict.ALLOWED, "outside the Sidecar's egress hosts, passed through by ALLOW_ANY"
    if not ext.via_egress_gateway:
        return (
            Verdict.ALLOWED,
            f"ServiceEntry {ext.namespace}/{ext.name}, straight from the sidecar",
        )
    if not ext.allowed_callers:
        return Verdict.ALLOWED, f"through {ext.egress_gateway}, any caller"
    accounts = {service_account_key(a, ext.namespace) for a in ext.allowed_callers}
    if caller.account in accounts:
        return Verdict.ALLOWED, f"through {ext.egress_gateway}, a named caller"
    return (
        Verdict.DENIED,
        f"{ext.egress_gateway} lets only {ext.namespace}/{ext.name}'s callers out",
    )


def who_can_reach_external(spec: MeshSpec) -> list[Call]:
    """Every workload against every external host, with its verdict and reason."""
    callers = endpoints(spec)
    return [
        Call(caller.label, f"{EXTERNAL}/{host}", False, *_judge(spec, caller, ext, host))
        for ext in spec.policy.external_services
        for host in ext.hosts
        for caller in callers
    ]


def to_markdown(calls: list[Call]) -> str:
    """The ``meshstack graph`` section: each host and who reaches it."""
    out = ["", "## Egress: who reaches each external host", ""]
    hosts = sorted({c.callee for c in calls})
    for host in hosts:
        reaching = [c for c in calls if c.callee == host and c.verdict is not Verdict.DENIED]
        names = ", ".join(f"{c.caller} ({c.reason})" for c in reaching) or "nobody"
        out.append(f"- {host.removeprefix(EXTERNAL + '/')}: {names}")
    if not hosts:
        out.append("- no external hosts")
    return "\n".join(out) + "\n"

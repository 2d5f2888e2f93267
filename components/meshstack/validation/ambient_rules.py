"""Rules for ambient namespaces: what ztunnel alone cannot enforce, and what has no sidecar.

Each problem names the field and the fix; the usual fix for an L7 need is a waypoint
(``Namespace(..., dataplane=Dataplane.AMBIENT, waypoint=Waypoint())``), which
:mod:`meshstack.enforcement` then attaches every policy of the namespace to.
"""

from __future__ import annotations

from collections.abc import Iterator

from meshstack.enforcement import Enforcement, Placement, enforcement, l7_attributes
from meshstack.hosts import HostResolver
from meshstack.spec.mesh import MeshSpec
from meshstack.validation.problems import Problem
from meshstack.validation.traffic_rules import MESH_GATEWAY

_NEEDS_WAYPOINT = (
    "add a waypoint to namespace {ns!r} (Namespace(name={ns!r}, dataplane=Dataplane.AMBIENT, "
    "waypoint=Waypoint())) or keep it on sidecars"
)


def _fix(namespace: str) -> str:
    return _NEEDS_WAYPOINT.format(ns=namespace)


def ambient_problems(spec: MeshSpec) -> Iterator[Problem]:
    placement = Placement(spec)
    yield from _namespace_problems(spec)
    yield from _workload_problems(spec, placement)
    yield from _security_problems(spec, placement)
    yield from _traffic_problems(spec, placement)
    yield from _proxy_problems(spec, placement)


def _gateway_namespaces(spec: MeshSpec) -> dict[str, str]:
    """Namespace → a gateway deployment that runs there (they need sidecar injection)."""
    found = {gw.namespace: gw.name for gw in spec.gateway_workloads}
    if spec.install is not None:
        found.update({gw.namespace: gw.name for gw in spec.install.gateways})
    return found


def _namespace_problems(spec: MeshSpec) -> Iterator[Problem]:
    gateways = _gateway_namespaces(spec)
    workloads = {(app.namespace, w.name) for app in spec.apps for w in app.workloads}
    for ns in spec.namespaces:
        path = f"namespaces[{ns.name}]"
        if not ns.ambient:
            if ns.waypoint is not None:
                yield Problem(
                    f"{path}.waypoint",
                    "a waypoint serves an ambient namespace: set dataplane=Dataplane.AMBIENT "
                    "or drop the waypoint",
                )
            continue
        for field in ("injection", "revision"):
            if field in ns.model_fields_set:
                yield Problem(
                    f"{path}.{field}",
                    "an ambient namespace has no sidecars to inject; drop it "
                    "(dataplane=Dataplane.AMBIENT replaces it)",
                )
        if spec.install is not None and not spec.install.ambient:
            yield Problem(
                f"{path}.dataplane",
                "the install does not run ambient mode (ztunnel and istio-cni's ambient "
                "profile): set install.ambient=True",
            )
        if ns.name in gateways:
            yield Problem(
                f"{path}.dataplane",
                f"gateway {gateways[ns.name]!r} runs here and its pods get their proxy by "
                "sidecar injection: keep this namespace on sidecars",
            )
        if ns.waypoint is not None and (ns.name, ns.waypoint.name) in workloads:
            yield Problem(
                f"{path}.waypoint.name",
                f"workload {ns.waypoint.name!r} already owns that Service and service "
                "account name; name the waypoint differently",
            )


def _workload_problems(spec: MeshSpec, placement: Placement) -> Iterator[Problem]:
    for app in spec.apps:
        if placement.of(app.namespace) is Enforcement.SIDECAR:
            continue
        for w in app.workloads:
            if w.virtual_machines is not None:
                yield Problem(
                    f"apps[{app.name}].workloads[{w.name}].virtual_machines",
                    f"virtual machines join the mesh with their own sidecar proxy; namespace "
                    f"{app.namespace!r} is ambient: put them in a sidecar namespace",
                )


def _security_problems(spec: MeshSpec, placement: Placement) -> Iterator[Problem]:
    policy = spec.policy
    with_waypoint = sorted(
        ns.name for ns in spec.namespaces if enforcement(ns) is Enforcement.WAYPOINT
    )
    for ap in policy.authorization_policies:
        if ap.namespace == spec.root_namespace and with_waypoint:
            yield Problem(
                f"policy.authorization_policies[{ap.name}]",
                "a mesh-wide policy is enforced by sidecars and ztunnel, never by waypoints, "
                f"and ztunnel sees a waypoint's identity for traffic to {with_waypoint}: it "
                "would judge the wrong caller there; declare it per namespace instead",
            )
    for ap in policy.authorization_policies:
        if placement.of(ap.namespace) is not Enforcement.ZTUNNEL:
            continue
        for r, rule in enumerate(ap.rules):
            for attribute in l7_attributes(rule):
                yield Problem(
                    f"policy.authorization_policies[{ap.name}].rules[{r}].{attribute}",
                    "ztunnel sees connections, not requests: it checks identities, namespaces "
                    "and ports only (a rule with request attributes would deny everything); "
                    + _fix(ap.namespace),
                )
    for jwt in policy.jwt_rules:
        if placement.of(jwt.namespace) is Enforcement.ZTUNNEL:
            yield Problem(
                f"policy.jwt_rules[{jwt.name}]",
                "tokens are checked on requests, which ztunnel does not see; "
                + _fix(jwt.namespace),
            )


def _traffic_problems(spec: MeshSpec, placement: Placement) -> Iterator[Problem]:
    """Routing, subsets, resilience and faults for an ambient service are applied by its
    waypoint: without one, its ambient callers' requests skip them."""
    hosts = HostResolver(spec)
    policy = spec.policy
    why = "requests from ambient callers are routed only by a waypoint; "
    for vs in policy.virtual_services:
        if vs.gateways and MESH_GATEWAY not in vs.gateways:
            continue
        for i, host in enumerate(vs.hosts):
            key = hosts.key(host, vs.namespace)
            if key in hosts.services and placement.of(key.namespace) is Enforcement.ZTUNNEL:
                yield Problem(
                    f"policy.virtual_services[{vs.name}].hosts[{i}]", why + _fix(key.namespace)
                )
    for canary in policy.canaries:
        key = hosts.key(canary.service, canary.namespace)
        if placement.of(key.namespace) is Enforcement.ZTUNNEL:
            yield Problem(f"policy.canaries[{canary.service}]", why + _fix(key.namespace))
    for i, dp in enumerate(policy.destination_policies):
        key = hosts.key(dp.service, dp.namespace)
        if placement.of(key.namespace) is Enforcement.ZTUNNEL:
            yield Problem(f"policy.destination_policies[{i}]", why + _fix(key.namespace))


def _proxy_problems(spec: MeshSpec, placement: Placement) -> Iterator[Problem]:
    policy = spec.policy
    for i, sidecar in enumerate(policy.sidecars):
        if placement.of(sidecar.namespace) is not Enforcement.SIDECAR:
            yield Problem(
                f"policy.sidecars[{i}]",
                f"namespace {sidecar.namespace!r} is ambient: it has no sidecars for a Sidecar "
                "scope to configure",
            )
    for limit in policy.rate_limits:
        if placement.of(limit.namespace) is not Enforcement.SIDECAR:
            yield Problem(
                f"policy.rate_limits[{limit.name}]",
                f"namespace {limit.namespace!r} is ambient: the local rate limit is an Envoy "
                "filter in the workload's sidecar, which it does not have",
            )

"""Rules for ambient namespaces: what ztunnel alone cannot enforce, and what has no sidecar.

Each problem names the field and the fix; the usual fix for an L7 need is a waypoint
(``Namespace(..., dataplane=Dataplane.AMBIENT, waypoint=Waypoint())``), which
:mod:`meshstack.enforcement` then attaches every policy of the namespace to.
"""

from __future__ import annotations

from collections.abc import Iterator

from meshstack.enforcement import Enforcement, Placement, l7_attributes
from meshstack.model import model_of
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.paths import item_path
from meshstack.validation.problems import Problem
from meshstack.validation.traffic_rules import MESH_GATEWAY

_NEEDS_WAYPOINT = (
    "add a waypoint to namespace {ns!r} (Namespace(name={ns!r}, dataplane=Dataplane.AMBIENT, "
    "waypoint=Waypoint())) or keep it on sidecars"
)


def _fix(namespace: str) -> str:
    return _NEEDS_WAYPOINT.format(ns=namespace)


def ambient_problems(spec: MeshSpec) -> Iterator[Problem]:
    placement = model_of(spec).placement
    yield from _namespace_problems(spec)
    yield from _workload_problems(spec, placement)
    if not any(ns.ambient for ns in spec.namespaces):
        return  # the rest judges only what ambient namespaces hold: skip it on every `up`
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
        if ns.waypoint is not None:
            yield from _name_taken(f"{path}.waypoint", ns.name, ns.waypoint.name, workloads)


def _name_taken(
    path: str, namespace: str, waypoint: str, workloads: set[tuple[str, str]]
) -> Iterator[Problem]:
    """istiod names a waypoint's Deployment, Service and service account after it."""
    if (namespace, waypoint) in workloads:
        yield Problem(
            f"{path}.name",
            f"workload {waypoint!r} already owns that Service and service account name; "
            "name the waypoint differently",
        )


def _workload_problems(spec: MeshSpec, placement: Placement) -> Iterator[Problem]:
    names = {(app.namespace, w.name) for app in spec.apps for w in app.workloads}
    for app in spec.apps:
        ambient = placement.of(app.namespace) is not Enforcement.SIDECAR
        for w in app.workloads:
            path = f"apps[{app.name}].workloads[{w.name}]"
            if w.waypoint is not None and not ambient:
                yield Problem(
                    f"{path}.waypoint",
                    f"namespace {app.namespace!r} runs sidecars: a waypoint serves ambient "
                    "services (set the namespace's dataplane=Dataplane.AMBIENT)",
                )
            elif w.waypoint is not None:
                yield from _name_taken(f"{path}.waypoint", app.namespace, w.waypoint.name, names)
            if ambient and w.virtual_machines is not None:
                yield Problem(
                    f"{path}.virtual_machines",
                    f"virtual machines join the mesh with their own sidecar proxy; namespace "
                    f"{app.namespace!r} is ambient: put them in a sidecar namespace",
                )


def _security_problems(spec: MeshSpec, placement: Placement) -> Iterator[Problem]:
    policy = spec.policy
    with_waypoint = sorted(ns.name for ns in spec.namespaces if placement.waypoints(ns.name))
    for ap in policy.authorization_policies:
        path = f"policy.authorization_policies[{ap.name}]"
        if ap.gateway is not None:
            continue  # on a Gateway API gateway's own proxy, whatever the namespace runs
        if ap.namespace == spec.root_namespace and with_waypoint:
            yield Problem(
                path,
                "a mesh-wide policy is enforced by sidecars and ztunnel, never by waypoints, "
                f"and ztunnel sees a waypoint's identity for traffic to {with_waypoint}: it "
                "would judge the wrong caller there; declare it per namespace instead",
            )
        yield from _namespace_wide_problems(placement, ap.namespace, ap.workload, path)
        if placement.of(ap.namespace, ap.workload) is not Enforcement.ZTUNNEL:
            continue
        for r, rule in enumerate(ap.rules):
            for attribute in l7_attributes(rule):
                yield Problem(
                    f"{path}.rules[{r}].{attribute}",
                    "ztunnel sees connections, not requests: it checks identities, namespaces "
                    "and ports only (a rule with request attributes would deny everything); "
                    + _fix(ap.namespace),
                )
    for jwt in policy.jwt_rules:
        path = f"policy.jwt_rules[{jwt.name}]"
        if jwt.gateway is not None:
            continue
        yield from _namespace_wide_problems(placement, jwt.namespace, jwt.workload, path)
        if placement.of(jwt.namespace, jwt.workload) is Enforcement.ZTUNNEL:
            yield Problem(
                path,
                "tokens are checked on requests, which ztunnel does not see; "
                + _fix(jwt.namespace),
            )


def _namespace_wide_problems(
    placement: Placement, namespace: str, workload: str | None, path: str
) -> Iterator[Problem]:
    """A namespace-wide rule where only some services have a waypoint: ztunnel would judge
    their traffic by the waypoint's identity, and their waypoints would not see the rule."""
    own = placement.with_own_waypoint(namespace)
    if workload is None and own and placement.of(namespace) is Enforcement.ZTUNNEL:
        yield Problem(
            f"{path}.workload",
            f"{own} have waypoints of their own and the namespace has none: a namespace-wide "
            "rule cannot reach them; name the workload, or give the namespace the waypoint",
        )


def _traffic_problems(spec: MeshSpec, placement: Placement) -> Iterator[Problem]:
    """Routing, subsets, resilience and faults for an ambient service are applied by its
    waypoint: without one, its ambient callers' requests skip them."""
    hosts = model_of(spec).hosts
    policy = spec.policy
    why = "requests from ambient callers are routed only by a waypoint; "
    for vs in policy.virtual_services:
        if vs.gateways and MESH_GATEWAY not in vs.gateways:
            continue
        for i, host in enumerate(vs.hosts):
            key = hosts.key(host, vs.namespace)
            if key in hosts.services and placement.of(*key) is Enforcement.ZTUNNEL:
                yield Problem(
                    f"policy.virtual_services[{vs.name}].hosts[{i}]", why + _fix(key.namespace)
                )
    for c, canary in enumerate(policy.canaries):
        key = hosts.key(canary.service, canary.namespace)
        if placement.of(*key) is Enforcement.ZTUNNEL:
            yield Problem(item_path("policy.canaries", c, canary), why + _fix(key.namespace))
    for i, dp in enumerate(policy.destination_policies):
        key = hosts.key(dp.service, dp.namespace)
        if placement.of(*key) is Enforcement.ZTUNNEL:
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

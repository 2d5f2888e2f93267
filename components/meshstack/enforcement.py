"""Where a namespace's policy is enforced: its sidecars, ztunnel, or its waypoint.

One answer for rendering (``selector`` or ``targetRefs``), validation (L7 rules need a
sidecar or a waypoint) and review, so moving a namespace between ``sidecar`` and
``ambient`` moves every policy with it:

* **sidecar** — each pod's Envoy enforces everything; policies select pods (``selector``);
* **ztunnel** — an ambient namespace without a waypoint: the node proxy sees connections,
  not requests, so it enforces identities, namespaces and ports only (a policy with L7
  attributes bound to it would fail closed and deny everything);
* **waypoint** — an ambient namespace with a waypoint, or a service with its own: every
  policy for it attaches to the waypoint (``targetRefs`` to the workload's Service, or to
  the namespace's waypoints for the whole namespace). All of them, L4 included: ztunnel
  at the destination sees the waypoint's identity for traffic that came through it, so
  caller rules there would match nothing.
"""

from __future__ import annotations

from enum import StrEnum

from meshstack.spec.mesh import MeshSpec
from meshstack.spec.security import AuthorizationRule
from meshstack.spec.workloads import Namespace


class Enforcement(StrEnum):
    SIDECAR = "sidecar"
    ZTUNNEL = "ztunnel"
    WAYPOINT = "waypoint"


def enforcement(namespace: Namespace | None) -> Enforcement:
    """Who enforces policy in ``namespace`` (undeclared namespaces: sidecars)."""
    if namespace is None or not namespace.ambient:
        return Enforcement.SIDECAR
    return Enforcement.WAYPOINT if namespace.waypoint is not None else Enforcement.ZTUNNEL


class Placement:
    """The enforcement point of every declared namespace and service, looked up once."""

    def __init__(self, spec: MeshSpec) -> None:
        self.namespaces = {ns.name: ns for ns in spec.namespaces}
        self.own: dict[tuple[str, str], str] = {
            (namespace, name): waypoint
            for namespace, name, waypoint in (
                (app.namespace, w.name, w.waypoint.name)
                for app in spec.apps
                for w in app.workloads
                if w.waypoint is not None
            )
            if enforcement(self.namespaces.get(namespace)) is not Enforcement.SIDECAR
        }
        """Services with a waypoint of their own, in ambient namespaces (elsewhere it is
        ignored, and validation says so)."""
        self.all_waypoints = spec.waypoints()

    def of(self, namespace: str | None, workload: str | None = None) -> Enforcement:
        """Who enforces policy for ``workload`` (or the whole namespace, without one)."""
        found = enforcement(self.namespaces.get(namespace or ""))
        if found is Enforcement.ZTUNNEL and (namespace or "", workload or "") in self.own:
            return Enforcement.WAYPOINT
        return found

    def waypoint(self, namespace: str, workload: str | None = None) -> str | None:
        """The waypoint ``workload``'s traffic (or the namespace's) goes through, if any:
        the service's own before the namespace's."""
        if workload is not None and (namespace, workload) in self.own:
            return self.own[(namespace, workload)]
        found = self.namespaces.get(namespace)
        if found is None or not found.ambient or found.waypoint is None:
            return None
        return found.waypoint.name

    def waypoints(self, namespace: str) -> list[str]:
        """Every waypoint in ``namespace``: its own and its services'."""
        return [name for ns, name in self.all_waypoints if ns == namespace]

    def with_own_waypoint(self, namespace: str) -> list[str]:
        """Workloads of ``namespace`` that have a waypoint of their own."""
        return sorted(w for ns, w in self.own if ns == namespace)


def l7_attributes(rule: AuthorizationRule) -> list[str]:
    """What of ``rule`` only a proxy that sees requests can check."""
    found = []
    for i, source in enumerate(rule.sources):
        if source.request_principals:
            found.append(f"sources[{i}].request_principals")
    for i, op in enumerate(rule.operations):
        if op.methods:
            found.append(f"operations[{i}].methods")
        if op.paths:
            found.append(f"operations[{i}].paths")
    return found

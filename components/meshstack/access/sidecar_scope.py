"""Which hosts a caller's sidecar knows: the Sidecar resource that configures it.

One answer for the in-mesh graph and the egress graph alike. A host outside the caller's
Sidecar egress hosts has no cluster in its proxy: ``REGISTRY_ONLY`` drops the request,
``ALLOW_ANY`` passes it through to the destination address as it is — in plaintext,
without the caller's mTLS identity, which a STRICT callee refuses.
"""

from __future__ import annotations

from meshstack.hosts import served_by
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.observability import OutboundPolicy, SidecarScope
from meshstack.spec.refs import ServiceKey


def scope_of(spec: MeshSpec, caller: ServiceKey) -> SidecarScope | None:
    """The Sidecar that configures the caller's proxy: its own, its namespace's, the mesh's."""
    sidecars = spec.policy.sidecars
    for namespace, workload in (
        (caller.namespace, caller.name),
        (caller.namespace, None),
        (spec.root_namespace, None),
    ):
        for sidecar in sidecars:
            if sidecar.namespace == namespace and sidecar.workload == workload:
                return sidecar
    return None


def imports(scope: SidecarScope, caller: ServiceKey, namespace: str, host: str) -> bool:
    """Whether ``scope``'s egress hosts import ``host`` declared in ``namespace``."""
    for entry in scope.egress_hosts:
        wanted, _, pattern = entry.partition("/")
        if wanted == ".":
            wanted = caller.namespace
        if wanted in ("*", namespace) and served_by((pattern,), host):
            return True
    return False


def outbound_policy(spec: MeshSpec, scope: SidecarScope | None) -> OutboundPolicy:
    """What the caller's proxy does with a host it does not know."""
    if scope is not None and scope.outbound_policy is not None:
        return scope.outbound_policy
    if spec.install is not None:
        return spec.install.mesh_config.outbound_traffic_policy
    return OutboundPolicy.ALLOW_ANY

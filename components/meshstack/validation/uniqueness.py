"""One object per kind, namespace and name: two spec entries that would overwrite each other.

Two AuthorizationPolicies both named ``shop/allow-web`` render to one Kubernetes object
name: the engine refuses the duplicate half-way through an ``up`` (or, applied by hand,
the second silently replaces the first). Validation names the second entry instead.
"""

from __future__ import annotations

from collections.abc import Iterator

from meshstack.spec.mesh import MeshSpec
from meshstack.validation.problems import Problem

_KIND_OF_FIELD = {
    "gateways": "Gateway",
    "virtual_services": "VirtualService",
    "authorization_policies": "AuthorizationPolicy",
    "peer_authentications": "PeerAuthentication",
    "jwt_rules": "RequestAuthentication",
    "external_services": "ServiceEntry",
    "sidecars": "Sidecar",
    "rate_limits": "EnvoyFilter",
}
"""Policy collections whose entries carry their object's own name and namespace."""


def duplicate_name_problems(spec: MeshSpec) -> Iterator[Problem]:
    for field, kind in _KIND_OF_FIELD.items():
        first: dict[tuple[str, str], int] = {}
        for i, item in enumerate(getattr(spec.policy, field)):
            if item.namespace is None:
                continue  # mesh-wide PeerAuthentication: its own rule allows only one
            at = first.setdefault((item.namespace, item.name), i)
            if at != i:
                yield Problem(
                    f"policy.{field}[{i}]",
                    f"a second {kind} {item.namespace}/{item.name} (the first is "
                    f"policy.{field}[{at}]); one would overwrite the other: rename or merge them",
                )

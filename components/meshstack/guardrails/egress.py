"""Production egress is controlled: every external host leaves through an egress gateway.

A ServiceEntry alone lets every sidecar that can resolve the host open connections to it
straight from its pod: nothing audits or authorizes that traffic in one place. Through an
egress gateway it can be logged, limited to named callers and given TLS there. The rule
looks at what the plan would do, not at how it was written: a host is controlled when some
VirtualService for it sends the sidecars' traffic (the ``mesh`` gateway) to another host,
the egress gateway's Service.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from meshstack.guardrails.model import (
    GuardrailSettings,
    PlannedResource,
    StackViolation,
    as_list,
    child,
)

_NETWORKING = "networking.istio.io"
_ROUTE_LISTS = ("http", "tls", "tcp")


def _strings(value: Any) -> set[str]:
    return {v for v in as_list(value) if isinstance(v, str)}


def _steered_hosts(service: PlannedResource) -> set[str]:
    """The hosts whose sidecar traffic this VirtualService sends to a different host."""
    spec = service.spec
    hosts = _strings(spec.get("hosts"))
    own_gateways = _strings(spec.get("gateways")) or {"mesh"}
    for kind in _ROUTE_LISTS:
        for route in as_list(spec.get(kind)):
            if not isinstance(route, Mapping):
                continue
            matches = [m for m in as_list(route.get("match")) if isinstance(m, Mapping)]
            from_sidecars = any(
                "mesh" in (_strings(m.get("gateways")) or own_gateways) for m in matches
            ) or (not matches and "mesh" in own_gateways)
            targets = [child(d, "destination").get("host") for d in as_list(route.get("route"))]
            if (
                from_sidecars
                and targets
                and all(isinstance(t, str) and t not in hosts for t in targets)
            ):
                return hosts
    return set()


def controlled_egress_in_production(
    resources: Sequence[PlannedResource], settings: GuardrailSettings
) -> Iterator[StackViolation]:
    production = [r for r in resources if settings.is_production(r)]
    steered: set[str] = set()
    for resource in production:
        if resource.is_kind(_NETWORKING, "VirtualService"):
            steered |= _steered_hosts(resource)
    for resource in production:
        if not resource.is_kind(_NETWORKING, "ServiceEntry"):
            continue
        if resource.spec.get("location") != "MESH_EXTERNAL":
            continue
        for host in sorted(_strings(resource.spec.get("hosts")) - steered):
            yield StackViolation(
                f"{resource.display_name}: sidecars reach {host} directly; in production "
                "external traffic leaves through an egress gateway, where it is authorized "
                "and logged (ExternalService.via_egress_gateway=True)",
                resource.urn,
            )

"""Production talks mTLS only: no PERMISSIVE or DISABLE peer authentication, no plaintext client.

PERMISSIVE is a migration state (dev uses it); in production it lets a pod
outside the mesh speak plaintext to a workload, bypassing identity-based
authorization. A DestinationRule with ``tls.mode: DISABLE`` makes the client
side send plaintext to an in-mesh host, which STRICT servers then refuse.
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
from meshstack.hosts import is_cluster_service_host

SECURITY = "security.istio.io"
NETWORKING = "networking.istio.io"
WEAK_MODES = ("PERMISSIVE", "DISABLE")


def _mode(block: Any) -> str | None:
    if isinstance(block, Mapping):
        mode = block.get("mode")
        return mode if isinstance(mode, str) else None
    return None


def peer_authentication_modes(resource: PlannedResource) -> Iterator[tuple[str, str]]:
    """``(field path, mode)`` for the workload-wide and every port-level mode."""
    spec = resource.spec
    mode = _mode(spec.get("mtls"))
    if mode is not None:
        yield "spec.mtls.mode", mode
    ports = spec.get("portLevelMtls")
    if isinstance(ports, Mapping):
        for port, block in ports.items():
            port_mode = _mode(block)
            if port_mode is not None:
                yield f"spec.portLevelMtls[{port}].mode", port_mode


def _client_tls_modes(resource: PlannedResource) -> Iterator[tuple[str, str]]:
    """``(field path, mode)`` for every TLS block of a DestinationRule."""

    def in_policy(prefix: str, policy: Any) -> Iterator[tuple[str, str]]:
        if not isinstance(policy, Mapping):
            return
        mode = _mode(policy.get("tls"))
        if mode is not None:
            yield f"{prefix}.tls.mode", mode
        for i, port_policy in enumerate(as_list(policy.get("portLevelSettings"))):
            port_mode = _mode(child(port_policy, "tls"))
            if port_mode is not None:
                yield f"{prefix}.portLevelSettings[{i}].tls.mode", port_mode

    spec = resource.spec
    yield from in_policy("spec.trafficPolicy", spec.get("trafficPolicy"))
    for subset in as_list(spec.get("subsets")):
        if isinstance(subset, Mapping):
            name = subset.get("name", "?")
            yield from in_policy(f"spec.subsets[{name}].trafficPolicy", subset.get("trafficPolicy"))


def strict_mtls_in_production(
    resource: PlannedResource, settings: GuardrailSettings
) -> Iterator[str]:
    if not settings.is_production(resource):
        return
    if resource.is_kind(SECURITY, "PeerAuthentication"):
        for path, mode in peer_authentication_modes(resource):
            if mode in WEAK_MODES:
                yield (
                    f"{resource.display_name}: {path} is {mode}, which accepts plaintext; "
                    f"stack {resource.stack!r} is production and needs STRICT (or UNSET to inherit)"
                )
    elif resource.is_kind(NETWORKING, "DestinationRule"):
        host = resource.spec.get("host")
        if not (isinstance(host, str) and is_cluster_service_host(host)):
            return
        for path, mode in _client_tls_modes(resource):
            if mode == "DISABLE":
                yield (
                    f"{resource.display_name}: {path} is DISABLE, so clients send plaintext to "
                    f"in-mesh host {host}; use ISTIO_MUTUAL or leave tls unset in production"
                )


def mesh_wide_strict_mtls_in_production(
    resources: Sequence[PlannedResource], settings: GuardrailSettings
) -> Iterator[StackViolation]:
    """A production stack must itself declare STRICT for the whole mesh.

    Istio's default without any PeerAuthentication is PERMISSIVE, so leaving the
    mesh-wide policy out is as weak as writing PERMISSIVE.
    """
    production = [r for r in resources if settings.is_production(r)]
    if not production:
        return
    for resource in production:
        if (
            resource.is_kind(SECURITY, "PeerAuthentication")
            and resource.namespace == settings.mesh_root_namespace
            and not resource.spec.get("selector")
            and _mode(resource.spec.get("mtls")) == "STRICT"
        ):
            return
    yield StackViolation(
        f"stack {production[0].stack!r} is production but declares no mesh-wide STRICT "
        f"PeerAuthentication (namespace {settings.mesh_root_namespace!r}, no selector, "
        "mtls.mode STRICT); without one Istio accepts plaintext (PERMISSIVE)"
    )

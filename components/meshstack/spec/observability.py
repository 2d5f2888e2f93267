"""Per-proxy behaviour: Sidecar scoping, Telemetry and local rate limiting."""

from __future__ import annotations

from enum import StrEnum

from meshstack.spec.base import DnsLabel, Duration, NonEmptyStr, Percent, PositiveInt, Spec


class OutboundPolicy(StrEnum):
    ALLOW_ANY = "ALLOW_ANY"
    REGISTRY_ONLY = "REGISTRY_ONLY"


class SidecarScope(Spec):
    """Limit what a namespace's (or workload's) sidecars know about and may reach.

    ``egress_hosts`` uses Istio's ``namespace/host`` form: ``./*`` is the own
    namespace, ``istio-system/*`` the control plane. Smaller scopes mean less
    Envoy config and memory on large meshes.
    """

    name: DnsLabel = "default"
    namespace: DnsLabel
    workload: str | None = None
    egress_hosts: tuple[NonEmptyStr, ...] = ("./*", "istio-system/*")
    outbound_policy: OutboundPolicy | None = None


class TelemetrySpec(Spec):
    """Mesh-wide tracing sampling and access logging (a Telemetry in the root namespace)."""

    tracing_sampling: Percent = 1.0
    tracing_provider: str | None = None
    """An extension provider from mesh config; ``None`` uses the mesh default."""
    access_logging: bool = True
    access_log_provider: str = "envoy"
    access_log_filter: str | None = None
    """A CEL expression; e.g. ``response.code >= 400`` logs only errors."""


class LocalRateLimit(Spec):
    """A token bucket in each sidecar of a workload (Envoy's local rate limit filter)."""

    name: DnsLabel
    namespace: DnsLabel
    workload: NonEmptyStr
    max_tokens: PositiveInt
    tokens_per_fill: PositiveInt
    fill_interval: Duration = "1s"

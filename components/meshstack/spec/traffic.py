"""Traffic management: VirtualService routing, DestinationRule policy and canaries.

Services are referred to as ``name`` (resolved in the referring object's
namespace) or ``name.namespace``; rendered hosts are always fully qualified so
a route never depends on where its VirtualService lives.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from meshstack.spec.analysis import CanaryAnalysis
from meshstack.spec.base import (
    DnsLabel,
    Duration,
    HttpStatus,
    NonEmptyStr,
    NonNegativeInt,
    Percent,
    PortNumber,
    PositiveInt,
    Spec,
    Weight,
)
from meshstack.spec.formats import Hostname
from meshstack.spec.locality import LocalityLoadBalancing


class StringMatch(Spec):
    """Exactly one of ``exact``, ``prefix`` or ``regex`` (Istio's StringMatch)."""

    exact: str | None = None
    prefix: str | None = None
    regex: str | None = None


class HttpMatch(Spec):
    """Conditions that must all hold for a request to take a route (an HTTPMatchRequest).

    ``user_agent`` is shorthand for a match on the ``user-agent`` header, the
    classic A/B split by browser.
    """

    name: DnsLabel | None = None
    """Istio names the proxy's route ``<route name>.<match name>``: that name shows in
    access logs and, for an SLO kept per route, in the ``route_name`` label of Istio's
    metrics, so one route's paths can be told apart (the UI from the API, say)."""
    uri: StringMatch | None = None
    headers: dict[str, StringMatch] = Field(default_factory=dict)
    user_agent: StringMatch | None = None
    method: StringMatch | None = None

    def all_headers(self) -> dict[str, StringMatch]:
        """``headers`` with the ``user_agent`` shorthand spelt out, as proxies match them."""
        if self.user_agent is None:
            return dict(self.headers)
        return {**self.headers, "user-agent": self.user_agent}


class Destination(Spec):
    """Where a route sends traffic; ``weight`` is required when a route has several."""

    service: NonEmptyStr
    subset: str | None = None
    port: PortNumber | None = None
    weight: Weight | None = None


class RetryPolicy(Spec):
    """Envoy retries: attempts, per-try timeout and the conditions that trigger one."""

    attempts: NonNegativeInt
    per_try_timeout: Duration | None = None
    retry_on: tuple[str, ...] = ("5xx", "reset", "connect-failure")


RETRY_CONDITIONS = frozenset(
    {
        "5xx",
        "gateway-error",
        "reset",
        "reset-before-request",
        "connect-failure",
        "envoy-ratelimited",
        "retriable-4xx",
        "refused-stream",
        "retriable-status-codes",
        "retriable-headers",
        "http3-post-connect-failure",
        "cancelled",
        "deadline-exceeded",
        "internal",
        "resource-exhausted",
        "unavailable",
    }
)


class DelayFault(Spec):
    """Delay a percentage of requests by a fixed time before forwarding them."""

    fixed_delay: Duration
    percentage: Percent


class AbortFault(Spec):
    """Answer a percentage of requests with an HTTP status instead of forwarding them."""

    http_status: HttpStatus
    percentage: Percent


class FaultInjection(Spec):
    """Chaos for testing resilience: a delay, an abort, or both. Never meant for prod."""

    delay: DelayFault | None = None
    abort: AbortFault | None = None


class Mirror(Spec):
    """Copy a percentage of live traffic to another destination, ignoring its responses."""

    service: NonEmptyStr
    subset: str | None = None
    percentage: Percent = 100.0


class HttpRoute(Spec):
    """One rule of a VirtualService: match → destinations, with resilience and chaos settings."""

    name: str | None = None
    match: tuple[HttpMatch, ...] = ()
    """Any one of these matches selects the route; empty means every request."""
    destinations: tuple[Destination, ...]
    timeout: Duration | None = None
    retries: RetryPolicy | None = None
    fault: FaultInjection | None = None
    mirror: Mirror | None = None


class VirtualService(Spec):
    """Routing for hosts: mesh-internal services or hostnames exposed through gateways.

    ``gateways`` names Gateways as ``name`` or ``namespace/name``; ``mesh`` means
    the sidecars. Empty means ``mesh`` only.
    """

    name: DnsLabel
    namespace: DnsLabel
    hosts: tuple[NonEmptyStr, ...]
    gateways: tuple[str, ...] = ()
    http: tuple[HttpRoute, ...]


class LoadBalancer(StrEnum):
    """Envoy's load-balancing algorithm for a destination."""

    ROUND_ROBIN = "ROUND_ROBIN"
    LEAST_REQUEST = "LEAST_REQUEST"
    RANDOM = "RANDOM"
    PASSTHROUGH = "PASSTHROUGH"


class ConsistentHash(Spec):
    """Session affinity: hash on exactly one of a header, a cookie or the source IP."""

    http_header_name: str | None = None
    http_cookie_name: str | None = None
    http_cookie_ttl: Duration | None = None
    use_source_ip: bool = False


class ConnectionPool(Spec):
    """Circuit-breaker limits on connections and requests to one destination."""

    max_connections: PositiveInt | None = None
    connect_timeout: Duration | None = None
    http1_max_pending_requests: PositiveInt | None = None
    http2_max_requests: PositiveInt | None = None
    max_requests_per_connection: PositiveInt | None = None
    max_retries: NonNegativeInt | None = None


class OutlierDetection(Spec):
    """Eject hosts that keep failing from the load-balancing pool for a while."""

    consecutive_5xx_errors: PositiveInt = 5
    interval: Duration = "10s"
    base_ejection_time: Duration = "30s"
    max_ejection_percent: Percent = 100.0


class Subset(Spec):
    """A named group of a service's pods, selected by their ``version`` label."""

    name: DnsLabel
    version: DnsLabel


class DestinationPolicy(Spec):
    """Policy applied after routing (a DestinationRule): subsets, load balancing, breakers."""

    service: NonEmptyStr
    namespace: DnsLabel
    subsets: tuple[Subset, ...] = ()
    load_balancer: LoadBalancer | None = None
    consistent_hash: ConsistentHash | None = None
    connection_pool: ConnectionPool | None = None
    outlier_detection: OutlierDetection | None = None
    locality: LocalityLoadBalancing | None = None
    """Prefer endpoints near the caller, failing over (or spreading) by locality."""


class Canary(Spec):
    """A progressive rollout of one service as a single object.

    It yields the candidate Deployment (unless the workload already declares
    that version), the DestinationRule subsets for both versions and the
    VirtualService that splits traffic: by ``weight`` (percent to the
    candidate), or, with ``match``, matching requests to the candidate (A/B)
    and the rest to stable.
    """

    path_key: ClassVar[str] = "service"
    """One canary per service: the service names it in field paths."""

    service: NonEmptyStr
    namespace: DnsLabel
    stable: DnsLabel = "v1"
    candidate: DnsLabel = "v2"
    candidate_image: str | None = None
    """Image of the candidate version when the workload does not declare it."""
    weight: Weight = 0
    match: tuple[HttpMatch, ...] = ()
    gateway: str | None = None
    """Also route ingress traffic: bind the canary's VirtualService to this Gateway
    (``name`` or ``namespace/name``), since sidecar-only routes never see it."""
    gateway_hosts: tuple[Hostname, ...] = ()
    """External hostnames served through ``gateway``."""
    timeout: Duration | None = None
    retries: RetryPolicy | None = None
    fault: FaultInjection | None = None
    analysis: CanaryAnalysis | None = None
    """The checks each step must pass before the next (``meshstack canary status`` and
    ``advance`` evaluate them against Prometheus); without it the weight moves by hand."""

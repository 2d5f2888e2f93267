"""Locality-aware load balancing: which endpoints a caller prefers by where they run.

A locality is ``region[/zone[/subzone]]`` — the ``topology.kubernetes.io/region`` and
``/zone`` labels of the nodes a workload runs on (and Istio's subzone label). With it on,
Envoy sends a caller's requests to endpoints of its own locality first, and only when
those are unhealthy to the next: *failover*. Or it spreads them by fixed shares:
*distribute*. Failover needs outlier detection to find the unhealthy endpoints; without
it Istio keeps the setting and nothing ever fails over, so validation refuses that.
"""

from __future__ import annotations

from pydantic import Field

from meshstack.spec.base import NonEmptyStr, Spec


class LocalityFailover(Spec):
    """Where a region's requests go once every endpoint in it has been ejected."""

    from_region: NonEmptyStr
    to_region: NonEmptyStr


class LocalityDistribution(Spec):
    """How requests from one locality spread over others, in percent (summing to 100)."""

    from_locality: NonEmptyStr
    """``region``, ``region/zone`` or ``region/zone/subzone``; a final ``*`` segment (or
    ``*`` alone) stands for every locality below."""
    to: dict[str, int] = Field(default_factory=dict)
    """Locality (same form) → percent of the requests from ``from_locality``."""


class LocalityLoadBalancing(Spec):
    """A DestinationRule's ``loadBalancer.localityLbSetting``: on for this service (over
    the mesh's default), with explicit failover or distribution (one or the other)."""

    enabled: bool = True
    failover: tuple[LocalityFailover, ...] = ()
    failover_priority: tuple[NonEmptyStr, ...] = ()
    """Pod labels whose matching endpoints are preferred, in order (a network, say, or
    ``topology.istio.io/network``); with ``failover``, no topology label."""
    distribute: tuple[LocalityDistribution, ...] = ()

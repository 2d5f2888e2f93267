"""A health check as both a pod's container and a virtual machine's WorkloadGroup take it:
the two APIs share the probe's shape, so one function serves both."""

from __future__ import annotations

from typing import Any

from meshstack.k8s import drop_none
from meshstack.spec.workloads import Probe, ProbeKind


def probe_values(probe: Probe | None) -> dict[str, Any] | None:
    if probe is None:
        return None
    if probe.kind is ProbeKind.HTTP:
        action: dict[str, Any] = {"path": probe.path, "port": probe.port}
        if probe.http_headers:
            action["httpHeaders"] = [{"name": k, "value": v} for k, v in probe.http_headers.items()]
        check = {"httpGet": action}
    elif probe.kind is ProbeKind.GRPC:
        check = {"grpc": {"port": probe.port}}
    else:
        check = {"tcpSocket": {"port": probe.port}}
    timing = {"initialDelaySeconds": probe.initial_delay_seconds or None}
    return {**check, **drop_none(timing), "periodSeconds": probe.period_seconds}

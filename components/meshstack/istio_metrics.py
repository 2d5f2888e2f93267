"""The Istio metrics meshstack reads, named once: SLO rules and canary checks select a
service's requests the same way, so an SLO and a canary of one service count the same
requests.

Both judge at the callee (``reporter="destination"``): the server-side proxy sees every
request that reached the service, whichever client sent it, and each request is counted
once (the client-side report would count it again, or miss callers outside the mesh).
The exception is an SLO that names routes: a route is chosen, and named, by the calling
proxy (a gateway or a client's sidecar), so only its report (``reporter="source"``)
carries the route; callers without a proxy are then not counted.
"""

from __future__ import annotations

REQUESTS = "istio_requests_total"
"""Counter of requests, labelled with the response code and both ends' workloads."""
DURATION = "istio_request_duration_milliseconds"
"""Histogram of request durations (``_bucket{le=...}``, ``_count``, ``_sum``)."""
SERVER_ERROR = 'response_code=~"5.."'


def destination_matchers(service: str, namespace: str, *, at_callers: bool = False) -> list[str]:
    """Label matchers for the requests ``namespace/service`` answered, as its own proxy
    reported them (or, ``at_callers``, as the calling proxies did)."""
    reporter = "source" if at_callers else "destination"
    return [
        f'reporter="{reporter}"',
        f'destination_service_name="{service}"',
        f'destination_service_namespace="{namespace}"',
    ]


def selector(matchers: list[str]) -> str:
    return "{" + ",".join(matchers) + "}"

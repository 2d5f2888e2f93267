"""Derive least-privilege ALLOW policies from the call graph the apps declare.

With default-deny in a namespace, each workload that exposes ports gets one
ALLOW policy naming exactly the service accounts that call it (from every
workload's ``calls``) plus any extra callers such as the ingress gateway.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from meshstack.spec.refs import ServiceKey, service_key
from meshstack.spec.security import (
    AuthorizationPolicy,
    AuthorizationRule,
    RequestOperation,
    RequestSource,
)
from meshstack.spec.workloads import App


def least_privilege_policies(
    apps: Iterable[App],
    extra_callers: Mapping[str, Iterable[str]] | None = None,
    cluster_domain: str = "cluster.local",
) -> tuple[AuthorizationPolicy, ...]:
    """One ALLOW policy per called workload.

    ``extra_callers`` maps ``workload.namespace`` to service accounts
    (``namespace/name``) that may also call it, e.g. the ingress gateway.
    ``cluster_domain``: the DNS suffix of full service names in ``calls``.
    """
    apps = tuple(apps)
    callers: dict[ServiceKey, set[str]] = defaultdict(set)
    for app in apps:
        for workload in app.workloads:
            caller = f"{app.namespace}/{workload.identity}"
            for callee in workload.calls:
                callers[service_key(callee, app.namespace, cluster_domain)].add(caller)
    for target, accounts in (extra_callers or {}).items():
        callers[service_key(target, "", cluster_domain)].update(accounts)
    policies = []
    for app in apps:
        for workload in app.workloads:
            key = ServiceKey(app.namespace, workload.name)
            if not workload.ports or key not in callers:
                continue
            policies.append(
                AuthorizationPolicy(
                    name=f"allow-{workload.name}",
                    namespace=app.namespace,
                    workload=workload.name,
                    rules=(
                        AuthorizationRule(
                            sources=(RequestSource(service_accounts=tuple(sorted(callers[key]))),),
                            operations=(
                                RequestOperation(
                                    ports=tuple(p.container_port for p in workload.ports)
                                ),
                            ),
                        ),
                    ),
                )
            )
    return tuple(policies)

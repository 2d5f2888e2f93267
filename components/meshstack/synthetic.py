"""Synthetic meshes of any size, built from the typed spec: for benchmarks and load tests.

Each of ``services`` services (spread over a few namespaces) has a stable and a
candidate version, a canary route with retries and a timeout, a DestinationRule
with subsets and outlier detection, and an ALLOW policy for its two callers; the
mesh has STRICT mTLS mesh-wide and default-deny in every namespace.
"""

from __future__ import annotations

from meshstack.spec import (
    App,
    AuthorizationPolicy,
    AuthorizationRule,
    Canary,
    DestinationPolicy,
    MeshPolicy,
    MeshSpec,
    Namespace,
    OutlierDetection,
    PeerAuthentication,
    RequestSource,
    RetryPolicy,
    ServicePort,
    Version,
    Workload,
)


def service_name(i: int) -> str:
    return f"svc-{i:04d}"


def synthetic_mesh(services: int, namespaces: int = 4) -> MeshSpec:
    """A valid mesh of ``services`` services; ``namespaces`` caps the namespace count."""
    ns_names = [f"mesh-{n}" for n in range(min(namespaces, max(services, 1)))]
    per_ns: dict[str, list[Workload]] = {ns: [] for ns in ns_names}
    canaries, policies, authz = [], [], []
    for i in range(services):
        ns = ns_names[i % len(ns_names)]
        name = service_name(i)
        callers = [service_name(j) for j in (i - 1, i - 2) if j >= 0]
        callees = [
            f"{service_name(j)}.{ns_names[j % len(ns_names)]}"
            for j in (i + 1, i + 2)
            if j < services
        ]
        per_ns[ns].append(
            Workload(
                name=name,
                ports=(ServicePort(number=8080),),
                versions=(Version(name="v1", image=f"registry.meshstack.test/{name}:1.0.0"),),
                calls=tuple(callees),
            )
        )
        canaries.append(
            Canary(
                service=name,
                namespace=ns,
                stable="v1",
                candidate="v2",
                candidate_image=f"registry.meshstack.test/{name}:1.1.0",
                weight=10,
                timeout="3s",
                retries=RetryPolicy(attempts=2, per_try_timeout="1s"),
            )
        )
        policies.append(
            DestinationPolicy(
                service=name,
                namespace=ns,
                outlier_detection=OutlierDetection(consecutive_5xx_errors=3),
            )
        )
        if callers:
            authz.append(
                AuthorizationPolicy(
                    name=f"allow-{name}",
                    namespace=ns,
                    workload=name,
                    rules=(
                        AuthorizationRule(
                            sources=(
                                RequestSource(
                                    service_accounts=tuple(
                                        f"{ns_names[(i - k) % len(ns_names)]}/{c}"
                                        for k, c in zip((1, 2), callers, strict=False)
                                    )
                                ),
                            )
                        ),
                    ),
                )
            )
    return MeshSpec(
        stack=f"synthetic-{services}",
        namespaces=tuple(Namespace(name=ns) for ns in ns_names),
        apps=tuple(
            App(name=ns, namespace=ns, workloads=tuple(ws)) for ns, ws in per_ns.items() if ws
        ),
        gateway_workloads=(),
        policy=MeshPolicy(
            canaries=tuple(canaries),
            destination_policies=tuple(policies),
            authorization_policies=tuple(authz),
            peer_authentications=(PeerAuthentication(),),
            default_deny_namespaces=tuple(ns_names),
        ),
    )

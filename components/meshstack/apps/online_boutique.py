"""Google's Online Boutique ("hipster-shop"): eleven services talking gRPC, plus Redis.

Ports, environment, probes and the call graph follow the upstream Kubernetes
manifests: services find each other through ``*_SERVICE_ADDR`` variables,
which is also where the call graph below comes from; the gRPC services answer
the gRPC health protocol on their port, the frontend ``/_healthz`` (with a session
cookie so that probes do not create sessions) and Redis a TCP connect. Like upstream,
everything runs as user 1000 on a read-only root filesystem; Redis keeps its data
in an ``emptyDir`` at ``/data`` and runs a pinned Alpine image, not ``redis:alpine``.
"""

from __future__ import annotations

from meshstack.spec.workloads import (
    App,
    ContainerSecurity,
    Probe,
    ProbeKind,
    Protocol,
    Resources,
    ServicePort,
    Version,
    Workload,
)

BOUTIQUE_IMAGE_TAG = "v0.10.3"
BOUTIQUE_REPOSITORY = "us-central1-docker.pkg.dev/google-samples/microservices-demo"
REDIS_IMAGE = "docker.io/library/redis:7.4.1-alpine"
_PROBE_TIMING = {
    # (initial delay, period) in seconds: upstream's, where they differ from (0, 10)
    "cartservice": (15, 10),
    "adservice": (20, 15),
    "emailservice": (0, 5),
    "recommendationservice": (0, 5),
    "shippingservice": (0, 5),
}


def _grpc_probe(name: str, port: int) -> Probe:
    delay, period = _PROBE_TIMING.get(name, (0, 10))
    return Probe(kind=ProbeKind.GRPC, port=port, initial_delay_seconds=delay, period_seconds=period)


def _frontend_probe(purpose: str) -> Probe:
    return Probe(
        kind=ProbeKind.HTTP,
        port=8080,
        path="/_healthz",
        http_headers={"Cookie": f"shop_session-id=x-{purpose}-probe"},
        initial_delay_seconds=10,
    )


_ADDRESSES = {
    "productcatalogservice": ("PRODUCT_CATALOG_SERVICE_ADDR", 3550),
    "currencyservice": ("CURRENCY_SERVICE_ADDR", 7000),
    "cartservice": ("CART_SERVICE_ADDR", 7070),
    "recommendationservice": ("RECOMMENDATION_SERVICE_ADDR", 8080),
    "shippingservice": ("SHIPPING_SERVICE_ADDR", 50051),
    "checkoutservice": ("CHECKOUT_SERVICE_ADDR", 5050),
    "adservice": ("AD_SERVICE_ADDR", 9555),
    "paymentservice": ("PAYMENT_SERVICE_ADDR", 50051),
    "emailservice": ("EMAIL_SERVICE_ADDR", 5000),
}


def boutique_image(
    service: str, *, tag: str = BOUTIQUE_IMAGE_TAG, repository: str = BOUTIQUE_REPOSITORY
) -> str:
    return f"{repository}/{service}:{tag}"


def _addresses(callees: tuple[str, ...]) -> dict[str, str]:
    """The ``*_SERVICE_ADDR`` variables through which a service finds its gRPC callees."""
    return {_ADDRESSES[c][0]: f"{c}:{_ADDRESSES[c][1]}" for c in callees if c in _ADDRESSES}


def online_boutique(
    namespace: str = "hipster-shop",
    *,
    loadgenerator: bool = False,
    tag: str = BOUTIQUE_IMAGE_TAG,
    repository: str = BOUTIQUE_REPOSITORY,
    replicas: int = 1,
    resources: Resources | None = None,
) -> App:
    """Online Boutique in ``namespace``; the load generator is opt-in (never wanted in prod)."""
    small = resources or Resources(
        cpu_request="100m", memory_request="64Mi", cpu_limit="200m", memory_limit="128Mi"
    )

    def grpc(
        name: str,
        port: int,
        *,
        calls: tuple[str, ...] = (),
        target: int | None = None,
        env: dict[str, str] | None = None,
    ) -> Workload:
        container_port = target or port
        return Workload(
            name=name,
            ports=(ServicePort(number=port, protocol=Protocol.GRPC, target_port=target),),
            readiness=_grpc_probe(name, container_port),
            liveness=_grpc_probe(name, container_port),
            calls=calls,
            env={"PORT": str(container_port), **_addresses(calls), **(env or {})},
            replicas=replicas,
            resources=small,
            versions=(Version(image=boutique_image(name, tag=tag, repository=repository)),),
        )

    frontend_calls = (
        "productcatalogservice",
        "currencyservice",
        "cartservice",
        "recommendationservice",
        "shippingservice",
        "checkoutservice",
        "adservice",
    )
    checkout_calls = (
        "productcatalogservice",
        "shippingservice",
        "paymentservice",
        "emailservice",
        "currencyservice",
        "cartservice",
    )
    workloads = [
        Workload(
            name="frontend",
            ports=(ServicePort(number=80, protocol=Protocol.HTTP, target_port=8080),),
            calls=frontend_calls,
            env={
                "PORT": "8080",
                **_addresses(frontend_calls),
                "ENABLE_PROFILER": "0",
                "SHOPPING_ASSISTANT_SERVICE_ADDR": "-",
            },
            replicas=replicas,
            resources=small,
            readiness=_frontend_probe("readiness"),
            liveness=_frontend_probe("liveness"),
            versions=(Version(image=boutique_image("frontend", tag=tag, repository=repository)),),
        ),
        grpc("cartservice", 7070, calls=("redis-cart",), env={"REDIS_ADDR": "redis-cart:6379"}),
        grpc("productcatalogservice", 3550, env={"DISABLE_PROFILER": "1"}),
        grpc("currencyservice", 7000, env={"DISABLE_PROFILER": "1"}),
        grpc("paymentservice", 50051, env={"DISABLE_PROFILER": "1"}),
        grpc("shippingservice", 50051, env={"DISABLE_PROFILER": "1"}),
        grpc("emailservice", 5000, target=8080, env={"DISABLE_PROFILER": "1"}),
        grpc("checkoutservice", 5050, calls=checkout_calls),
        grpc(
            "recommendationservice",
            8080,
            calls=("productcatalogservice",),
            env={"DISABLE_PROFILER": "1"},
        ),
        grpc("adservice", 9555),
        Workload(
            name="redis-cart",
            ports=(ServicePort(number=6379, protocol=Protocol.REDIS),),
            resources=small,
            readiness=Probe(kind=ProbeKind.TCP, port=6379, period_seconds=5),
            liveness=Probe(kind=ProbeKind.TCP, port=6379, period_seconds=5),
            security=ContainerSecurity(writable_paths=("/data",)),
            versions=(Version(image=REDIS_IMAGE),),
        ),
    ]
    if loadgenerator:
        workloads.append(
            Workload(
                name="loadgenerator",
                calls=("frontend",),
                env={"FRONTEND_ADDR": "frontend:80", "USERS": "10", "RATE": "1"},
                resources=small,
                versions=(
                    Version(image=boutique_image("loadgenerator", tag=tag, repository=repository)),
                ),
            )
        )
    return App(name="online-boutique", namespace=namespace, workloads=tuple(workloads))

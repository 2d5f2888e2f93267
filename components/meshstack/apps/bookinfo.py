"""Istio's Bookinfo sample: productpage → details, reviews (v1/v2/v3) → ratings.

Images, ports, service accounts and the call graph follow the upstream sample;
reviews v1 does not call ratings, v2 and v3 do (black and red stars). Every service
answers ``GET /health`` on its port (the sample's sources), which both probes use;
reviews (Open Liberty) writes to ``/tmp`` and its server output directory and
productpage to ``/tmp``, the directories the upstream manifest mounts as ``emptyDir``,
so the root filesystem can stay read-only. Requests and limits are ours: the upstream
manifest sets none, and reviews, a JVM, needs the most memory.
"""

from __future__ import annotations

from meshstack.spec.workloads import (
    App,
    ContainerSecurity,
    Probe,
    ProbeKind,
    Resources,
    ServicePort,
    Version,
    Workload,
)

BOOKINFO_IMAGE_TAG = "1.20.3"
BOOKINFO_REPOSITORY = "docker.io/istio"
BOOKINFO_PORT = 9080
HEALTH = Probe(kind=ProbeKind.HTTP, port=BOOKINFO_PORT, path="/health")
SMALL = Resources(cpu_request="50m", memory_request="64Mi", cpu_limit="500m", memory_limit="256Mi")
JVM = Resources(cpu_request="100m", memory_request="256Mi", cpu_limit="1", memory_limit="512Mi")
WRITES = {"reviews": ("/tmp", "/opt/ibm/wlp/output"), "productpage": ("/tmp",)}


def bookinfo_image(
    service: str,
    version: str = "v1",
    *,
    tag: str = BOOKINFO_IMAGE_TAG,
    repository: str = BOOKINFO_REPOSITORY,
) -> str:
    return f"{repository}/examples-bookinfo-{service}-{version}:{tag}"


def bookinfo(
    namespace: str = "bookinfo",
    *,
    reviews_versions: tuple[str, ...] = ("v1", "v2", "v3"),
    tag: str = BOOKINFO_IMAGE_TAG,
    repository: str = BOOKINFO_REPOSITORY,
    replicas: int = 1,
) -> App:
    """The Bookinfo app in ``namespace``; ``reviews_versions`` picks the reviews Deployments."""
    port = (ServicePort(number=BOOKINFO_PORT),)

    def workload(name: str, versions: tuple[str, ...] = ("v1",), **extra: object) -> Workload:
        return Workload(
            name=name,
            ports=port,
            service_account=f"bookinfo-{name}",
            replicas=replicas,
            resources=JVM if name == "reviews" else SMALL,
            readiness=HEALTH,
            liveness=HEALTH,
            security=ContainerSecurity(writable_paths=WRITES.get(name, ())),
            versions=tuple(
                Version(name=v, image=bookinfo_image(name, v, tag=tag, repository=repository))
                for v in versions
            ),
            **extra,
        )

    return App(
        name="bookinfo",
        namespace=namespace,
        workloads=(
            workload("productpage", calls=("details", "reviews")),
            workload("details"),
            workload(
                "reviews",
                reviews_versions,
                calls=("ratings",),
                env={"LOG_DIR": "/tmp/logs"},
            ),
            workload("ratings"),
        ),
    )

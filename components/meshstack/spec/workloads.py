"""Workloads: namespaces, services, their versions and who calls whom.

A *workload* is one Kubernetes Service backed by one Deployment per version.
Each Deployment carries the labels ``app: <workload>`` and ``version: <vN>``,
which is what Istio DestinationRule subsets select on. A workload that runs on virtual
machines (``Workload.virtual_machines``) has a WorkloadGroup instead of a Deployment, and
WorkloadEntries with the same labels: the Service, subsets and policies are the same.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, IPvAnyAddress

from meshstack.spec.base import (
    DnsLabel,
    NonEmptyStr,
    NonNegativeInt,
    PortNumber,
    PositiveInt,
    Spec,
)
from meshstack.spec.formats import ImageReference, Quantity


class SidecarInjection(StrEnum):
    """How Envoy sidecars get into a namespace's pods."""

    ENABLED = "enabled"
    """``istio-injection: enabled``: the default revision's injector handles the namespace."""
    DISABLED = "disabled"
    """``istio-injection: disabled``: no sidecars (the workloads are outside the mesh)."""
    REVISION = "revision"
    """``istio.io/rev: <revision>``: a named control-plane revision injects (canary upgrades)."""


class Dataplane(StrEnum):
    """How a namespace's workloads are in the mesh."""

    SIDECAR = "sidecar"
    """An Envoy sidecar in every pod (``injection`` says how it gets there)."""
    AMBIENT = "ambient"
    """No sidecars: the node's ztunnel carries mTLS, identity and L4 policy
    (``istio.io/dataplane-mode: ambient``); L7 policy and routing need a ``waypoint``."""


class Waypoint(Spec):
    """A waypoint proxy for an ambient namespace's services: a Gateway of class
    ``istio-waypoint`` that istiod deploys (service account ``name``), used by the
    namespace through ``istio.io/use-waypoint``. It enforces L7 authorization, JWT rules
    and routing; traffic from ingress gateways goes through it too."""

    name: DnsLabel = "waypoint"


class Namespace(Spec):
    """A namespace the project creates, with its data plane: sidecars (and how they are
    injected) or ambient (and its waypoint). Moving between the two is ``dataplane``;
    meshstack places every policy where that data plane enforces it."""

    name: DnsLabel
    injection: SidecarInjection = SidecarInjection.ENABLED
    revision: str | None = None
    """The istiod revision (or revision tag) to inject; required with ``REVISION``."""
    labels: dict[str, str] = Field(default_factory=dict)
    dataplane: Dataplane = Dataplane.SIDECAR
    waypoint: Waypoint | None = None
    """Ambient only: the waypoint that enforces L7 policy and routing for its services."""
    clusters: tuple[DnsLabel, ...] = ()
    """In a multi-cluster mesh, where its workloads' pods run unless a workload narrows
    it (``Workload.clusters``); empty: every cluster. The namespace itself, its Services
    and accounts exist in every cluster (callers elsewhere resolve them, istiod reads
    them), as Istio's namespace sameness expects."""

    @property
    def ambient(self) -> bool:
        return self.dataplane is Dataplane.AMBIENT


class Protocol(StrEnum):
    """Application protocol; Istio reads it from the Service port name prefix."""

    HTTP = "http"
    HTTP2 = "http2"
    GRPC = "grpc"
    TCP = "tcp"
    TLS = "tls"
    HTTPS = "https"
    REDIS = "redis"


class ServicePort(Spec):
    """One port of a Service. ``name`` defaults to ``<protocol>`` for Istio's protocol selection."""

    number: PortNumber
    protocol: Protocol = Protocol.HTTP
    target_port: PortNumber | None = None
    """The container port; defaults to ``number``."""
    name: str | None = None

    @property
    def port_name(self) -> str:
        if self.name:
            return self.name
        return "tcp-redis" if self.protocol is Protocol.REDIS else self.protocol.value

    @property
    def container_port(self) -> int:
        return self.target_port if self.target_port is not None else self.number


class SeccompProfile(StrEnum):
    RUNTIME_DEFAULT = "RuntimeDefault"
    UNCONFINED = "Unconfined"


class Resources(Spec):
    """Container requests and limits in Kubernetes quantity syntax (``100m``, ``64Mi``)."""

    cpu_request: Quantity | None = None
    memory_request: Quantity | None = None
    cpu_limit: Quantity | None = None
    memory_limit: Quantity | None = None


class ProbeKind(StrEnum):
    HTTP = "http"
    """An HTTP GET of ``path``; 2xx and 3xx answers are healthy."""
    GRPC = "grpc"
    """The gRPC health-checking protocol on ``port``."""
    TCP = "tcp"
    """A TCP connect to ``port`` (servers without a health endpoint, such as Redis)."""


class Probe(Spec):
    """How the kubelet checks a container: readiness gates traffic, liveness restarts it."""

    kind: ProbeKind
    port: PortNumber
    """A container port of the workload."""
    path: str | None = None
    """The HTTP path (``kind=http`` only)."""
    http_headers: dict[str, str] = Field(default_factory=dict)
    initial_delay_seconds: NonNegativeInt = 0
    period_seconds: PositiveInt = 10


class ContainerSecurity(Spec):
    """The container's privileges; the defaults are the restricted Pod Security Standard.

    A read-only root filesystem needs ``writable_paths`` where the app writes (each gets an
    ``emptyDir``); ``run_as_user`` pins a numeric user so that ``run_as_non_root`` holds
    even for images that do not declare one.
    """

    run_as_non_root: bool = True
    run_as_user: NonNegativeInt | None = 1000
    read_only_root_filesystem: bool = True
    writable_paths: tuple[NonEmptyStr, ...] = ()
    drop_capabilities: tuple[NonEmptyStr, ...] = ("ALL",)
    seccomp_profile: SeccompProfile | None = SeccompProfile.RUNTIME_DEFAULT
    """``None`` leaves the node's default (often unconfined)."""


class Version(Spec):
    """One Deployment of a workload, labelled ``version: <name>``."""

    name: DnsLabel = "v1"
    image: ImageReference | None = None
    """Required for a workload in Kubernetes; unset on virtual machines, which run their
    own software."""
    replicas: NonNegativeInt | None = None
    """Overrides the workload's replica count for this version."""
    env: dict[str, str] = Field(default_factory=dict)
    """Merged over the workload's env; this version's value wins."""


class VirtualMachines(Spec):
    """Machines outside Kubernetes that run a workload with Istio's proxy on them.

    The workload gets a WorkloadGroup (the template each machine's proxy joins with:
    labels, service account, network, readiness probe) and, for each static address, a
    WorkloadEntry. Its Service selects them like pods, so callers use the same name and
    the same mTLS and authorization rules apply.
    """

    addresses: tuple[IPvAnyAddress, ...] = ()
    """Machines registered statically, one WorkloadEntry each; empty: machines register
    themselves from the WorkloadGroup (Istio's auto-registration)."""
    network: NonEmptyStr | None = None
    """The Istio network of the machines when it is not the cluster's (reached through an
    east-west gateway)."""


class Workload(Spec):
    """A service of an app: its ports, versions, identity and outbound calls."""

    name: DnsLabel
    versions: tuple[Version, ...]
    ports: tuple[ServicePort, ...] = ()
    """Empty for a client-only workload (e.g. a load generator): no Service is created."""
    service_account: DnsLabel | None = None
    """The Kubernetes service account, i.e. the workload's mTLS identity; defaults to ``name``."""
    calls: tuple[str, ...] = ()
    """Workloads this one calls: ``name`` in the same namespace or ``name.namespace``."""
    env: dict[str, str] = Field(default_factory=dict)
    replicas: NonNegativeInt = 1
    resources: Resources | None = None
    readiness: Probe | None = None
    liveness: Probe | None = None
    security: ContainerSecurity = Field(default_factory=ContainerSecurity)
    disruption_budget: PositiveInt | None = 1
    """``maxUnavailable`` of the PodDisruptionBudget rendered when the workload runs more
    than one replica (drains then keep the rest serving); ``None`` renders none."""
    virtual_machines: VirtualMachines | None = None
    """Set when the workload runs on virtual machines instead of Kubernetes pods."""
    waypoint: Waypoint | None = None
    """Ambient only: a waypoint for this service alone (``istio.io/use-waypoint`` on its
    Service), instead of or beside its namespace's."""
    clusters: tuple[DnsLabel, ...] = ()
    """In a multi-cluster mesh, the clusters its pods run in (``MeshSpec.multicluster``);
    empty: its namespace's (``Namespace.clusters``), or all of them. Its Service and
    service account are in every cluster (``MeshSpec.placement_of`` is the answer)."""

    @property
    def identity(self) -> str:
        return self.service_account or self.name


class App(Spec):
    """A group of workloads that live in one namespace (Bookinfo, Online Boutique)."""

    name: DnsLabel
    namespace: DnsLabel
    workloads: tuple[Workload, ...]

"""One mesh over several clusters: which clusters, on which networks, and how to reach them.

Istio's multi-primary model: every cluster runs its own istiod, each istiod reads the
Services and endpoints of the other clusters through a *remote secret* (a kubeconfig for
the other cluster's ``istio-reader-service-account``), and when clusters sit on
different networks their pods reach each other only through each network's *east-west
gateway* (the gateway chart with ``networkGateway``, exposing ``*.local`` on 15443 with
``AUTO_PASSTHROUGH``). Workload identities verify across clusters only when every
cluster's CA chains to one root (the ``cacerts`` Secret of Istio's plug-in CA).

The spec says all of this once; :mod:`meshstack.multicluster` derives each cluster's
own view (its install values, its gateways, the workloads that run there).

Istio's primary-remote model is the second topology: one *primary* runs istiod for the
mesh; every other cluster is a *remote* that runs none. A remote's sidecars are injected
by, and take their configuration from, the primary's istiod, which they reach through
the primary's east-west gateway (it exposes istiod on 15012 and its webhook on 15017);
the primary reads each remote's endpoints through a remote secret; Istio configuration
lives in the primary alone.
"""

from __future__ import annotations

from enum import StrEnum

from meshstack.spec.base import DnsLabel, NonEmptyStr, Spec
from meshstack.spec.formats import NetworkAddress


class Topology(StrEnum):
    MULTI_PRIMARY = "multi-primary"
    """Every cluster runs istiod and reads the others' endpoints."""
    PRIMARY_REMOTE = "primary-remote"
    """One primary runs istiod; the other clusters (remotes) run none and are served by
    the primary's, through its east-west gateway."""


class MeshCluster(Spec):
    """One cluster of the mesh."""

    name: DnsLabel
    """Istio's cluster name (``global.multiCluster.clusterName``); remote secrets and
    endpoints carry it, so renaming a cluster of a running mesh breaks discovery."""
    network: DnsLabel
    """The network its pods are on (``global.network`` and the ``topology.istio.io/network``
    label of Istio's namespace): pods on different networks meet only through gateways."""
    region: NonEmptyStr | None = None
    """The ``topology.kubernetes.io/region`` of its nodes: what locality failover names."""
    zone: NonEmptyStr | None = None
    kubeconfig: NonEmptyStr | None = None
    """The stack config key holding a kubeconfig for this cluster (set it with ``pulumi
    config set --secret``); ``None``: the provider's default (``KUBECONFIG``)."""
    context: NonEmptyStr | None = None
    """The kubeconfig context to use, when the kubeconfig has several."""
    trust_domain: NonEmptyStr | None = None
    """The trust domain this cluster's istiod issues identities in, when it is not the
    mesh's (``MeshSpec.trust_domain``): every other cluster then accepts it as an alias
    (``trustDomainAliases``), so policies naming ``ns/sa`` admit callers from here. Only
    for a cluster that runs istiod (a remote's identities are its primary's)."""
    ca_cert: NonEmptyStr | None = None
    """With ``MultiCluster.plugin_ca``: the stack config key holding this cluster's
    intermediate CA certificate (PEM), signed by the shared root."""
    ca_key: NonEmptyStr | None = None
    """With ``MultiCluster.plugin_ca``: the config key holding the intermediate's private
    key; it must be a config secret (``pulumi config set --secret``)."""


class PluginCa(Spec):
    """One root of trust for every cluster: each istiod signs workload certificates with
    an intermediate of that root (the ``cacerts`` Secret of Istio's plug-in CA), so an
    identity issued in one cluster verifies in every other. Without it each istiod makes
    its own root and cross-cluster mTLS fails."""

    root_cert: NonEmptyStr = "caRootCert"
    """The stack config key holding the root certificate (PEM)."""


class MultiCluster(Spec):
    """The clusters one mesh spans, and the mesh's name among them."""

    mesh_id: DnsLabel
    """``global.meshID``: the same in every cluster of one mesh."""
    clusters: tuple[MeshCluster, ...]
    topology: Topology = Topology.MULTI_PRIMARY
    east_west_gateway: DnsLabel = "istio-eastwestgateway"
    """The name of each network's east-west gateway release (in Istio's namespace)."""
    plugin_ca: PluginCa | None = None
    """The shared root of trust (each cluster names its intermediate's config keys)."""
    primary: DnsLabel | None = None
    """Primary-remote: the cluster whose istiod serves the whole mesh."""
    discovery_address: NetworkAddress | None = None
    """Primary-remote: where remotes reach the primary's istiod, the address of the
    primary's east-west gateway (its load balancer's IP or DNS name; reserve a static
    one): the remotes' ``global.remotePilotAddress``."""

    def control_plane_of(self, name: str) -> str:
        """The cluster whose istiod serves cluster ``name``: its own, or the primary's."""
        if self.topology is Topology.PRIMARY_REMOTE and self.primary is not None:
            return self.primary
        return name

    def is_remote(self, name: str) -> bool:
        """Whether cluster ``name`` runs no istiod of its own."""
        return self.control_plane_of(name) != name

    @property
    def crosses_networks(self) -> bool:
        """Whether the clusters are on more than one network: pods of one are then not
        reachable from another, and every cluster's east-west gateway carries the calls."""
        return len(self.networks) > 1

    def serves_remotes(self, name: str) -> bool:
        """Whether cluster ``name``'s istiod is also the control plane of remotes."""
        return not self.is_remote(name) and any(
            self.control_plane_of(c.name) == name for c in self.clusters if c.name != name
        )

    def has_east_west_gateway(self, name: str) -> bool:
        """Whether cluster ``name`` gets an east-west gateway: in a mesh over several
        networks (other networks' calls come in through it), or to expose its istiod to
        remotes. Clusters of one network reach each other's pods directly, so a
        single-network multi-primary mesh has none, and a remote there none either."""
        return self.crosses_networks or self.serves_remotes(name)

    def reads(self, reader: str) -> tuple[str, ...]:
        """The clusters whose endpoints cluster ``reader``'s istiod reads (a remote secret
        for each in ``reader``): every other one for a primary, none for a remote."""
        if self.is_remote(reader):
            return ()
        return tuple(c.name for c in self.clusters if c.name != reader)

    def trust_domain_of(self, cluster: MeshCluster, mesh_domain: str) -> str:
        return cluster.trust_domain or mesh_domain

    def cluster(self, name: str) -> MeshCluster | None:
        return next((c for c in self.clusters if c.name == name), None)

    @property
    def config_keys(self) -> tuple[str, ...]:
        """The ``meshstack:`` config keys this spec names (kubeconfigs, CA files): the
        stack's config may hold them besides meshstack's own."""
        keys = [self.plugin_ca.root_cert] if self.plugin_ca is not None else []
        for c in self.clusters:
            keys += [k for k in (c.kubeconfig, c.ca_cert, c.ca_key) if k is not None]
        return tuple(keys)

    @property
    def kubeconfig_keys(self) -> tuple[str, ...]:
        """The config keys that say how each cluster is reached: what a CRD layer stack
        of this mesh holds besides its settings (it deploys to every cluster too)."""
        return tuple(c.kubeconfig for c in self.clusters if c.kubeconfig is not None)

    @property
    def networks(self) -> tuple[str, ...]:
        """Every network, in the order the clusters first name them."""
        return tuple(dict.fromkeys(c.network for c in self.clusters))

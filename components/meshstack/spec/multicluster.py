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
"""

from __future__ import annotations

from enum import StrEnum

from meshstack.spec.base import DnsLabel, NonEmptyStr, Spec


class Topology(StrEnum):
    MULTI_PRIMARY = "multi-primary"
    """Every cluster runs istiod and reads the others' endpoints."""
    PRIMARY_REMOTE = "primary-remote"
    """Remote clusters run no istiod of their own (not built yet: validation refuses it)."""


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
    (``trustDomainAliases``), so policies naming ``ns/sa`` admit callers from here."""
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
    def networks(self) -> tuple[str, ...]:
        """Every network, in the order the clusters first name them."""
        return tuple(dict.fromkeys(c.network for c in self.clusters))

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

Istio's primary-remote model is the second topology: a *remote* runs no istiod; the
*primary* it names (``MeshCluster.control_plane``) serves it. A remote's sidecars are
injected by, and take their configuration from, the primary's istiod, which they reach
through the primary's east-west gateway (it exposes istiod on 15012 and its webhook on
15017, at the primary's ``discovery_address``); every primary reads each other cluster's
endpoints through a remote secret; Istio configuration lives in the primaries alone. Each
cluster names its own control plane, so one mesh may hold several primaries, each serving
remotes of its own (Istio's multi-primary with remotes).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import ClassVar

from meshstack.spec.base import DnsLabel, NonEmptyStr, Spec
from meshstack.spec.formats import NetworkAddress


class Topology(StrEnum):
    MULTI_PRIMARY = "multi-primary"
    """Every cluster runs istiod and reads the others' endpoints."""
    PRIMARY_REMOTE = "primary-remote"
    """Some clusters (remotes) run no istiod: each is served by its primary's, through
    that primary's east-west gateway."""


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
    control_plane: DnsLabel | None = None
    """A remote (primary-remote): the primary cluster whose istiod serves this one, which
    runs none of its own. ``None``: the cluster runs istiod (a primary)."""
    discovery_address: NetworkAddress | None = None
    """A primary serving remotes: where they reach its istiod, the address of its
    east-west gateway (its load balancer's IP or DNS name; reserve a static one): its
    remotes' ``global.remotePilotAddress``."""
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
    east_west_gateway: DnsLabel = "istio-eastwestgateway"
    """The name of each network's east-west gateway release (in Istio's namespace)."""
    plugin_ca: PluginCa | None = None
    """The shared root of trust (each cluster names its intermediate's config keys)."""

    moved_fields: ClassVar[Mapping[str, str]] = {
        "primary": "MeshCluster(control_plane=...): each remote names the primary serving it",
        "discovery_address": "MeshCluster(discovery_address=...) on each primary serving "
        "remotes (where they reach its istiod)",
        "topology": "derived from the clusters now: a cluster with a control_plane is a "
        "remote, and makes the mesh primary-remote; remove it",
    }

    @property
    def topology(self) -> Topology:
        """Primary-remote once any cluster is a remote; multi-primary otherwise."""
        remote = any(c.control_plane is not None for c in self.clusters)
        return Topology.PRIMARY_REMOTE if remote else Topology.MULTI_PRIMARY

    def control_plane_of(self, name: str) -> str:
        """The cluster whose istiod serves cluster ``name``: its own, or its primary's."""
        cluster = self.cluster(name)
        return cluster.control_plane if cluster and cluster.control_plane else name

    def discovery_address_of(self, name: str) -> str | None:
        """Where cluster ``name``'s sidecars reach their istiod from another cluster: a
        remote's primary's discovery address (``None`` for a primary's own)."""
        if not self.is_remote(name):
            return None
        primary = self.cluster(self.control_plane_of(name))
        return primary.discovery_address if primary is not None else None

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

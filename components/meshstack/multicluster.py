"""Each cluster's own view of a multi-cluster spec, and the objects that join the clusters.

One spec describes the mesh; each cluster gets a view of it (:func:`cluster_view`) that the
single-cluster renderers and components take unchanged: istiod's membership values, a
network's east-west gateway and the Gateway that exposes its pods to other networks, and
only the workloads placed there running pods (every Service and account exists in
every cluster, as callers' DNS and istiod need). A spec of one cluster has no views.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import yaml

from meshstack.k8s import K8sObject
from meshstack.render import render
from meshstack.render.edge import ISTIOD_GATEWAY, ISTIOD_PORTS
from meshstack.render.install import install_namespace_object
from meshstack.spec.edge import Gateway, GatewayServer, GatewayWorkload, ServerProtocol, TlsMode
from meshstack.spec.formats import is_ip
from meshstack.spec.install import EAST_WEST_PORTS, GatewayInstall, MeshMembership
from meshstack.spec.mesh import MeshPolicy, MeshSpec
from meshstack.spec.multicluster import MeshCluster, MultiCluster
from meshstack.validation.problems import Problem

CROSS_NETWORK_GATEWAY = "cross-network-gateway"
"""The Istio Gateway that exposes a network's services to the others' sidecars."""
READER_ACCOUNT = "istio-reader-service-account"
"""The account the base chart makes for other clusters' istiod to read this one with."""
MULTI_CLUSTER_LABEL = "istio/multiCluster"
CLUSTER_ANNOTATION = "networking.istio.io/cluster"
PASSTHROUGH_PORT = 15443


def clusters_of(spec: MeshSpec) -> tuple[MeshCluster, ...]:
    """The spec's clusters; empty for a mesh of one cluster."""
    return spec.multicluster.clusters if spec.multicluster is not None else ()


def cluster_view(spec: MeshSpec, name: str) -> MeshSpec:
    """``spec`` as cluster ``name`` runs it (see the module's docstring). The spec must be
    valid: views are derived, not validated again."""
    mc = spec.multicluster
    cluster = mc.cluster(name) if mc is not None else None
    if mc is None or cluster is None or spec.install is None:
        raise ValueError(f"{spec.stack!r} declares no cluster {name!r} with an install")
    install = spec.install
    remote = mc.is_remote(name)
    serves_remotes = mc.serves_remotes(name)
    reserved = cluster.discovery_address if serves_remotes else None
    gateway = GatewayInstall(
        name=mc.east_west_gateway,
        namespace=install.namespace,
        ports=EAST_WEST_PORTS,
        network=cluster.network,
        # The address remotes are told is the one the primary's load balancer asks for
        # (a DNS name, such as a cloud load balancer's, is the user's to point there).
        load_balancer_ip=reserved if reserved is not None and is_ip(reserved) else None,
    )
    east_west = mc.has_east_west_gateway(name)
    view_install = install.model_copy(
        update={
            "membership": MeshMembership(
                mesh_id=mc.mesh_id,
                cluster_name=cluster.name,
                network=cluster.network,
                control_plane=mc.control_plane_of(name) if remote else None,
                discovery_address=mc.discovery_address_of(name),
                serves_remotes=serves_remotes,
            ),
            "gateways": (*install.gateways, *([gateway] if east_west else [])),
        }
    )
    workload = GatewayWorkload(
        name=mc.east_west_gateway,
        namespace=install.namespace,
        # What the chart labels the gateway's pods with, which the expose Gateway selects.
        selector={"istio": gateway.selector_label},
        service_account=mc.east_west_gateway,
    )
    expose = Gateway(
        name=CROSS_NETWORK_GATEWAY,
        namespace=install.namespace,
        workload=mc.east_west_gateway,
        servers=(
            GatewayServer(
                port=PASSTHROUGH_PORT,
                protocol=ServerProtocol.TLS,
                hosts=("*.local",),
                tls_mode=TlsMode.AUTO_PASSTHROUGH,
            ),
        ),
    )
    exposed = (
        *([expose] if mc.crosses_networks else []),
        *([istiod_gateway(install.namespace, mc.east_west_gateway)] if serves_remotes else []),
    )
    policy = (
        # A remote's Istio configuration would be read by no istiod: it keeps none.
        MeshPolicy(slos=spec.policy.slos, slo_rules=spec.policy.slo_rules)
        if remote
        else spec.policy.model_copy(update={"gateways": (*spec.policy.gateways, *exposed)})
    )
    own = mc.trust_domain_of(mc.cluster(mc.control_plane_of(name)) or cluster, spec.trust_domain)
    others = [mc.trust_domain_of(c, spec.trust_domain) for c in mc.clusters]
    aliases = tuple(d for d in dict.fromkeys((*spec.trust_domain_aliases, *others)) if d != own)
    return spec.model_copy(
        update={
            "trust_domain": own,
            "trust_domain_aliases": aliases,
            "install": view_install,
            "gateway_workloads": (*spec.gateway_workloads, *([workload] if east_west else [])),
            "policy": policy,
            "cluster_view": name,
        }
    )


def istiod_gateway(namespace: str, east_west_gateway: str) -> Gateway:
    """The primary's istiod exposed to its remotes on the east-west gateway: TLS passed
    through to istiod on 15012 (XDS, certificates) and 15017 (the injection webhook);
    :func:`meshstack.render.edge.istiod_routes` routes it."""
    return Gateway(
        name=ISTIOD_GATEWAY,
        namespace=namespace,
        workload=east_west_gateway,
        servers=tuple(
            GatewayServer(
                port=port, protocol=ServerProtocol.TLS, hosts=("*",), tls_mode=TlsMode.PASSTHROUGH
            )
            for port in ISTIOD_PORTS
        ),
    )


def cluster_views(spec: MeshSpec) -> dict[str, MeshSpec]:
    """Every cluster's view, by cluster name; empty for a mesh of one cluster."""
    return {c.name: cluster_view(spec, c.name) for c in clusters_of(spec)}


def remote_secret(spec: MeshSpec, of: str, server: str, token: str, ca_data: str = "") -> K8sObject:
    """The Secret that lets the istiod of every other cluster read cluster ``of``: a
    kubeconfig for ``of``'s reader account (its API ``server``, its ``token``, the
    certificate authority ``ca_data`` in base64), labelled and annotated as istiod's
    multi-cluster controller looks for it. What ``istioctl create-remote-secret`` writes,
    built by the program instead."""
    namespace = spec.install.namespace if spec.install is not None else spec.root_namespace
    cluster: dict[str, str] = {"server": server}
    if ca_data:
        cluster["certificate-authority-data"] = ca_data
    else:
        cluster["insecure-skip-tls-verify"] = "true"
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": of, "cluster": cluster}],
        "users": [{"name": of, "user": {"token": token}}],
        "contexts": [{"name": of, "context": {"cluster": of, "user": of}}],
        "current-context": of,
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": f"istio-remote-secret-{of}",
            "namespace": namespace,
            "labels": {MULTI_CLUSTER_LABEL: "true"},
            "annotations": {CLUSTER_ANNOTATION: of},
        },
        "type": "Opaque",
        "stringData": {of: yaml.safe_dump(kubeconfig, sort_keys=False)},
    }


CACERTS = "cacerts"
CACERTS_KEYS = ("ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem")
"""The files istiod's plug-in CA reads from the ``cacerts`` Secret of its namespace."""


def cacerts_object(namespace: str, files: pulumi.Input[Mapping[str, str]]) -> K8sObject:
    """The ``cacerts`` Secret of one cluster: its intermediate CA (certificate and key),
    the shared root, and the chain from the intermediate up to it, as ``stringData`` (the
    files may be secret outputs: the engine keeps them encrypted)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": CACERTS, "namespace": namespace},
        "type": "Opaque",
        "stringData": files,
    }


def render_clusters(spec: MeshSpec) -> dict[str, list[K8sObject]]:
    """What the stack defines in each cluster, by cluster: Istio's namespace (labelled
    with the cluster's network), then everything :func:`meshstack.render.render` gives
    for the cluster's view. The remote secrets are not here: their tokens exist only
    once the other cluster runs (the program reads them at ``up``)."""
    out: dict[str, list[K8sObject]] = {}
    for name, view in cluster_views(spec).items():
        assert view.install is not None
        out[name] = [install_namespace_object(view.install), *render(view)]
    return out


def ca_files_of(*, root: str, cert: str, key: str) -> dict[str, str]:
    """The ``cacerts`` files of one cluster from its intermediate and the shared root:
    the chain is the intermediate followed by the root (what Istio's plug-in CA sends
    with every workload certificate)."""
    chain = cert.rstrip("\n") + "\n" + root.lstrip("\n")
    return {"ca-cert.pem": cert, "ca-key.pem": key, "root-cert.pem": root, "cert-chain.pem": chain}


def api_server_of(kubeconfig: str, context: str | None = None) -> str:
    """The API server a kubeconfig reaches (its current context's, or ``context``'s): where
    the other clusters' istiod read this one."""
    document = yaml.safe_load(kubeconfig) or {}
    name = context or document.get("current-context")
    contexts = {c.get("name"): c.get("context") or {} for c in document.get("contexts") or []}
    clusters = {c.get("name"): c.get("cluster") or {} for c in document.get("clusters") or []}
    chosen = contexts.get(name, {})
    return str(clusters.get(chosen.get("cluster"), {}).get("server", ""))


def cluster_config_problems(
    mc: MultiCluster,
    *,
    set_keys: set[str],
    secret_keys: set[str],
    rendering: bool,
    with_ca: bool = True,
) -> list[Problem]:
    """What the stack's config lacks for the clusters: each kubeconfig (unless rendering:
    then no cluster is reached) and each CA file (not for a CRD layer: ``with_ca``
    False); a key or a kubeconfig kept in plaintext is refused, naming the ``--secret``
    command that fixes it."""
    problems = []
    for c in mc.clusters:
        wanted: list[tuple[str, str | None, bool]] = (
            [] if rendering or c.kubeconfig is None else [("kubeconfig", c.kubeconfig, True)]
        )
        if mc.plugin_ca is not None and with_ca:
            wanted += [("ca_cert", c.ca_cert, False), ("ca_key", c.ca_key, True)]
        for field, key, secret in wanted:
            if key is None:
                continue
            where = f"multicluster.clusters[{c.name}].{field}"
            if key not in set_keys:
                problems.append(
                    Problem(
                        where,
                        f"config key meshstack:{key} is not set: pulumi config set "
                        + ("--secret " if secret else "")
                        + f"meshstack:{key} < FILE",
                    )
                )
            elif secret and key not in secret_keys:
                problems.append(
                    Problem(
                        where,
                        f"config key meshstack:{key} is in plaintext in the stack's config: "
                        f"pulumi config set --secret meshstack:{key} < FILE",
                    )
                )
    if with_ca and mc.plugin_ca is not None and mc.plugin_ca.root_cert not in set_keys:
        problems.append(
            Problem(
                "multicluster.plugin_ca.root_cert",
                f"config key meshstack:{mc.plugin_ca.root_cert} is not set: pulumi config set "
                f"meshstack:{mc.plugin_ca.root_cert} < ROOT_CERT_PEM",
            )
        )
    return problems


def placement(spec: MeshSpec) -> dict[str, tuple[str, ...]]:
    """``namespace/workload`` → the clusters its pods run in (every cluster by default)."""
    return {
        f"{app.namespace}/{w.name}": spec.placement_of(app.namespace, w)
        for app in spec.apps
        for w in app.workloads
    }


@dataclass(frozen=True)
class Crossing:
    """A call whose caller runs in ``cluster`` and whose callee does not: it goes to the
    callee's clusters, through the east-west gateway of each on another network."""

    caller: str
    cluster: str
    callee: str
    there: tuple[str, ...]
    gateways: tuple[str, ...]
    """The clusters (of ``there``) whose east-west gateway the requests go through."""

    def __str__(self) -> str:
        via = [
            f"{c}'s east-west gateway" if c in self.gateways else f"{c} directly"
            for c in self.there
        ]
        return (
            f"{self.caller} in {self.cluster} → {self.callee}: runs in "
            f"{', '.join(self.there) or 'no cluster'}; reached through "
            f"{' or '.join(via) or 'nothing'}"
        )


def crossings(spec: MeshSpec, calls: list[tuple[str, str]]) -> list[Crossing]:
    """Each ``(caller, callee)`` from every cluster where the caller runs and the callee
    does not."""
    mc = spec.multicluster
    if mc is None:
        return []
    where = placement(spec)
    network = {c.name: c.network for c in mc.clusters}
    return [
        Crossing(
            caller,
            cluster,
            callee,
            where.get(callee, ()),
            tuple(c for c in where.get(callee, ()) if network[c] != network[cluster]),
        )
        for caller, callee in calls
        for cluster in where.get(caller, ())
        if cluster not in where.get(callee, ())
    ]

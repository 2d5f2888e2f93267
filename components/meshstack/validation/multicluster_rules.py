"""Rules for a mesh over several clusters: what Istio needs of each, said before anything runs.

A mesh of several clusters needs an install in every cluster, at least two
clusters with names of their own (remote secrets and endpoints carry them), and a cluster
for every placement a workload names. What is not built yet is refused by name rather
than rendered half: ambient mode across clusters (ztunnel's multi-network path is not
judged here). A remote names a primary of the mesh (a cluster running istiod), which
gives the address its remotes reach it at; a remote has no CA and no trust domain of its own. Locality failover across clusters names regions:
a region no cluster is in is a typo that would never fail over.
"""

from __future__ import annotations

from collections.abc import Iterator

from meshstack.spec.mesh import MeshSpec
from meshstack.validation.problems import Problem, declared_twice, suggestion


def multicluster_problems(spec: MeshSpec) -> Iterator[Problem]:
    mc = spec.multicluster
    if mc is None:
        yield from _placement_without_clusters(spec)
        return
    names = [c.name for c in mc.clusters]
    if len(mc.clusters) < 2:
        yield Problem(
            "multicluster.clusters",
            f"a mesh of several clusters needs at least two (got {len(mc.clusters)}): add "
            "one, or remove multicluster for a mesh of one cluster",
        )
    seen: set[str] = set()
    for c in mc.clusters:
        if c.name in seen:
            yield declared_twice(f"multicluster.clusters[{c.name}].name", f"cluster {c.name!r}")
        seen.add(c.name)
    yield from _topology_problems(spec)
    if spec.install is None:
        yield Problem(
            "install",
            "a mesh of several clusters installs Istio in every cluster (istiod, or a "
            "remote's webhook): declare install=IstioInstall(...) (each cluster's view adds "
            "its membership and east-west gateway)",
        )
    elif spec.cluster_view is None:
        # (A cluster's view carries the membership and east-west gateway it derives.)
        if spec.install.membership is not None:
            yield Problem(
                "install.membership",
                "each cluster's view sets its own membership from multicluster: remove it",
            )
        if any(g.name == mc.east_west_gateway for g in spec.install.gateways):
            yield declared_twice(
                f"install.gateways[{mc.east_west_gateway}].name",
                f"gateway {mc.east_west_gateway!r} (each cluster's east-west gateway)",
            )
    if spec.install is not None and spec.install.ambient:
        yield Problem(
            "install.ambient",
            "ambient mode across clusters is not built yet: use sidecars, or one cluster",
        )
    for c in mc.clusters:
        for field in ("ca_cert", "ca_key"):
            if mc.is_remote(c.name):
                if getattr(c, field) is not None:
                    yield Problem(
                        f"multicluster.clusters[{c.name}].{field}",
                        f"{c.name} is a remote: it runs no istiod, so no CA (its workloads' "
                        f"certificates come from {mc.control_plane_of(c.name)}'s): remove it",
                    )
                continue
            if mc.plugin_ca is not None and getattr(c, field) is None:
                yield Problem(
                    f"multicluster.clusters[{c.name}].{field}",
                    "the mesh shares a root of trust (plugin_ca): name the config key of "
                    f"this cluster's intermediate {'certificate' if field == 'ca_cert' else 'key'}",
                )
            if mc.plugin_ca is None and getattr(c, field) is not None:
                yield Problem(
                    f"multicluster.clusters[{c.name}].{field}",
                    "names an intermediate CA, but the mesh declares no root: set "
                    "multicluster.plugin_ca=PluginCa(...), or remove it",
                )
    declared = {n.name: n.clusters for n in spec.namespaces}
    for n in spec.namespaces:
        yield from _unknown_clusters(f"namespaces[{n.name}].clusters", n.clusters, names)
    for app in spec.apps:
        around = declared.get(app.namespace, ())
        for w in app.workloads:
            where = f"apps[{app.name}].workloads[{w.name}].clusters"
            yield from _unknown_clusters(where, w.clusters, names)
            for i, name in enumerate(w.clusters):
                if name in seen and around and name not in around:
                    yield Problem(
                        f"{where}[{i}]",
                        f"namespace {app.namespace} runs in {', '.join(around)} only: place "
                        f"the workload there, or add {name} to the namespace's clusters",
                    )
    regions = {c.region for c in mc.clusters if c.region}
    for d, dp in enumerate(spec.policy.destination_policies):
        if dp.locality is None:
            continue
        for i, f in enumerate(dp.locality.failover):
            for field in ("from_region", "to_region"):
                region = getattr(f, field)
                if region not in regions:
                    yield Problem(
                        f"policy.destination_policies[{d}].locality.failover[{i}].{field}",
                        f"no cluster is in region {region!r}, so nothing fails over there"
                        + suggestion(region, sorted(regions), "cluster region"),
                    )


def _unknown_clusters(where: str, placed: tuple[str, ...], names: list[str]) -> Iterator[Problem]:
    """A placement (``where``) naming a cluster the mesh does not have."""
    for i, name in enumerate(placed):
        if name not in names:
            yield Problem(
                f"{where}[{i}]", f"no cluster {name!r}" + suggestion(name, names, "cluster")
            )


def _topology_problems(spec: MeshSpec) -> Iterator[Problem]:
    """A remote names a primary: a cluster of the mesh that runs istiod (a remote's
    sidecars cannot be served by another remote). A primary serving remotes gives the
    address they reach it at; no other cluster has one. A remote issues no identities, so
    it has no trust domain of its own."""
    mc = spec.multicluster
    assert mc is not None
    names = [c.name for c in mc.clusters]
    primaries = [c.name for c in mc.clusters if c.control_plane is None]
    for c in mc.clusters:
        where = f"multicluster.clusters[{c.name}]"
        primary = c.control_plane
        if primary is not None and primary not in names:
            yield Problem(
                f"{where}.control_plane",
                f"no cluster {primary!r}" + suggestion(primary, names, "cluster"),
            )
        elif primary is not None and primary not in primaries:
            yield Problem(
                f"{where}.control_plane",
                f"{primary} runs no istiod of its own ("
                + ("it is this cluster" if primary == c.name else "it is a remote")
                + "): name a primary, one of "
                + (", ".join(primaries) or "none: let one cluster run istiod"),
            )
        if mc.serves_remotes(c.name) and c.discovery_address is None:
            yield Problem(
                f"{where}.discovery_address",
                f"{c.name}'s remotes reach its istiod through its east-west gateway: set "
                "discovery_address to that gateway's load-balancer address (an IP or DNS name)",
            )
        if not mc.serves_remotes(c.name) and c.discovery_address is not None:
            yield Problem(
                f"{where}.discovery_address",
                f"only a primary serving remotes has a discovery address ({c.name} "
                + ("is a remote" if primary is not None else "serves none")
                + "): remove it, or name it as a remote's control_plane",
            )
        if primary is not None and c.trust_domain is not None:
            yield Problem(
                f"{where}.trust_domain",
                f"{c.name} is a remote: its identities are issued by {primary}'s istiod, "
                "in that cluster's trust domain: remove it",
            )


def _placement_without_clusters(spec: MeshSpec) -> Iterator[Problem]:
    for n in spec.namespaces:
        if n.clusters:
            yield Problem(
                f"namespaces[{n.name}].clusters",
                "names clusters, but the spec declares none: declare "
                "multicluster=MultiCluster(...), or remove clusters",
            )
    for app in spec.apps:
        for w in app.workloads:
            if w.clusters:
                yield Problem(
                    f"apps[{app.name}].workloads[{w.name}].clusters",
                    "names clusters, but the spec declares none: declare "
                    "multicluster=MultiCluster(...), or remove clusters",
                )

"""Lookup tables built once per validation so every rule is a dictionary hit."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from meshstack.spec.edge import GatewayApi
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.refs import ServiceKey, service_key
from meshstack.spec.workloads import Workload


@dataclass
class MeshIndex:
    """Names the spec defines, keyed the way references use them."""

    namespaces: set[str] = field(default_factory=set)
    config_namespaces: set[str] = field(default_factory=set)
    """Where Istio config may live: the declared namespaces and the mesh's root namespace
    (config there applies mesh-wide; the install creates it)."""
    workloads: dict[ServiceKey, Workload] = field(default_factory=dict)
    selectable: set[ServiceKey] = field(default_factory=set)
    """Workloads a policy may select: app workloads and gateway deployments."""
    container_ports: dict[ServiceKey, set[int]] = field(default_factory=dict)
    service_accounts: set[ServiceKey] = field(default_factory=set)
    versions: dict[ServiceKey, set[str]] = field(default_factory=lambda: defaultdict(set))
    subsets: dict[ServiceKey, set[str]] = field(default_factory=lambda: defaultdict(set))
    gateways: set[ServiceKey] = field(default_factory=set)
    gateway_workloads: set[str] = field(default_factory=set)
    external_hosts: set[str] = field(default_factory=set)
    request_principal_namespaces: set[str] = field(default_factory=set)


def build_index(spec: MeshSpec) -> MeshIndex:
    index = MeshIndex()
    index.namespaces = {ns.name for ns in spec.namespaces}
    index.config_namespaces = index.namespaces | {spec.root_namespace}
    for app in spec.apps:
        for workload in app.workloads:
            key = ServiceKey(app.namespace, workload.name)
            index.workloads[key] = workload
            index.selectable.add(key)
            index.container_ports[key] = {p.container_port for p in workload.ports}
            index.service_accounts.add(ServiceKey(app.namespace, workload.identity))
            index.versions[key].update(v.name for v in workload.versions)
    for gw in spec.gateway_workloads:
        index.gateway_workloads.add(gw.name)
        index.selectable.add(ServiceKey(gw.namespace, gw.name))
        index.service_accounts.add(ServiceKey(gw.namespace, gw.service_account))
    policy = spec.policy
    for canary in policy.canaries:
        key = service_key(canary.service, canary.namespace, spec.cluster_domain)
        index.versions[key].add(canary.candidate)
        index.subsets[key].update((canary.stable, canary.candidate))
    for dp in policy.destination_policies:
        key = service_key(dp.service, dp.namespace, spec.cluster_domain)
        index.subsets[key].update(s.name for s in dp.subsets)
    index.gateways = {ServiceKey(g.namespace, g.name) for g in policy.gateways}
    for g in policy.gateways:
        if g.api is GatewayApi.KUBERNETES:
            index.service_accounts.add(ServiceKey(g.namespace, g.deployed_account))
    for ext in policy.external_services:
        index.external_hosts.update(ext.hosts)
    for ap in policy.authorization_policies:
        if any(s.request_principals for r in ap.rules for s in r.sources):
            index.request_principal_namespaces.add(ap.namespace)
    return index

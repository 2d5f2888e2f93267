"""How a name in a spec becomes the host Istio matches: one resolver for render,
validation, graph and diff, so they can never disagree.

* a declared service (``reviews``, ``reviews.bookinfo`` or its full name) resolves to
  ``<name>.<namespace>.svc.<cluster_domain>``;
* a hostname a Gateway serves at the edge (``bookinfo.example.com``), an external
  service's host, or a wildcard stays exactly as written: Istio binds a gateway route
  by host, so rewriting it to ``*.svc.cluster.local`` binds it to nothing (a 404);
* anything else does not resolve, and validation says so with its path.

The cluster's DNS suffix (``MeshSpec.cluster_domain``) is not the trust domain (the
SPIFFE identity root, ``MeshSpec.trust_domain``): they merely share a default.
"""

from __future__ import annotations

from meshstack.spec.mesh import MeshSpec
from meshstack.spec.refs import ServiceKey, service_key


def is_cluster_service_host(host: str) -> bool:
    """Whether Istio reads ``host`` in a config as a Kubernetes Service of the cluster: a
    short name (completed with the config's namespace and the cluster domain) or
    ``<service>.<namespace>.svc`` followed by whatever cluster domain the cluster uses.

    For judging rendered objects without their spec (the guardrails), where the cluster
    domain is not known: a Service's name always has its ``svc`` label."""
    labels = host.split(".")
    return len(labels) == 1 or (len(labels) >= 3 and labels[2] == "svc")


def served_by(server_hosts: tuple[str, ...] | list[str], host: str) -> bool:
    """Whether a Gateway server with ``server_hosts`` accepts a route for ``host``, as
    Istio matches them: ``*``, the exact name, or a ``*.suffix`` wildcard; a
    ``namespace/host`` entry is matched by its host part."""
    for entry in server_hosts:
        pattern = entry.rpartition("/")[2]
        if pattern == "*" or pattern == host:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
    return False


class HostResolver:
    """The hosts one spec defines, indexed once."""

    def __init__(self, spec: MeshSpec) -> None:
        self.cluster_domain = spec.cluster_domain
        self.services = {
            ServiceKey(app.namespace, w.name) for app in spec.apps for w in app.workloads
        }
        self.external = {h for e in spec.policy.external_services for h in e.hosts}
        self.edge = {
            h.rpartition("/")[2]
            for g in spec.policy.gateways
            for s in g.servers
            for h in s.hosts
            if "*" not in h
        }

    def key(self, ref: str, namespace: str) -> ServiceKey:
        """The service ``ref`` names from ``namespace`` (declared or not)."""
        return service_key(ref, namespace, self.cluster_domain)

    def fqdn(self, key: ServiceKey) -> str:
        return key.fqdn(self.cluster_domain)

    def is_literal(self, ref: str) -> bool:
        """A host written as Istio will match it: a wildcard, external or edge hostname."""
        return "*" in ref or ref in self.external or ref in self.edge

    def host(self, ref: str, namespace: str) -> str | None:
        """The host Istio matches for ``ref`` written in ``namespace``, or ``None`` when
        it names neither a declared service nor a literal host."""
        if self.is_literal(ref):
            return ref
        key = self.key(ref, namespace)
        return self.fqdn(key) if key in self.services else None

    def host_or_written(self, ref: str, namespace: str) -> str:
        """:meth:`host`, or ``ref`` itself when it does not resolve (validation has
        reported it; rendering keeps what the user wrote rather than guessing)."""
        return self.host(ref, namespace) or ref

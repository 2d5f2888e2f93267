"""How specs refer to services and service accounts, shared by validation and rendering."""

from __future__ import annotations

from typing import NamedTuple


class ServiceKey(NamedTuple):
    """A service (workload) identified by namespace and name."""

    namespace: str
    name: str

    def fqdn(self, cluster_domain: str = "cluster.local") -> str:
        """The service's DNS name in a cluster whose DNS suffix is ``cluster_domain``."""
        return f"{self.name}.{self.namespace}.svc.{cluster_domain}"


def service_key(
    ref: str, default_namespace: str, cluster_domain: str = "cluster.local"
) -> ServiceKey:
    """Resolve ``name``, ``name.namespace`` or a full ``name.namespace.svc.<cluster_domain>``."""
    suffix = f".svc.{cluster_domain}"
    if ref.endswith(suffix):
        ref = ref[: -len(suffix)]
    name, _, namespace = ref.partition(".")
    return ServiceKey(namespace or default_namespace, name)


def slash_key(ref: str, default_namespace: str) -> ServiceKey:
    """Resolve ``namespace/name`` (or just ``name`` in ``default_namespace``): how specs
    name service accounts and the gateways a route binds to."""
    namespace, _, name = ref.rpartition("/")
    return ServiceKey(namespace or default_namespace, name)


service_account_key = slash_key
gateway_key = slash_key


def principal(account: ServiceKey, trust_domain: str) -> str:
    """The SPIFFE-style principal Istio matches for a service account."""
    return f"{trust_domain}/ns/{account.namespace}/sa/{account.name}"

"""The trust domain: the root of every workload identity (``spiffe://<domain>/ns/../sa/..``).

One fact with two readers: the principals meshstack writes into AuthorizationPolicies,
and istiod, which issues the identities those principals must match
(``meshConfig.trustDomain``). ``aliases`` are the domains istiod also accepts as its own,
for a migration from one trust domain to another (``meshConfig.trustDomainAliases``).
"""

from __future__ import annotations

from dataclasses import dataclass

from meshstack.spec.refs import ServiceKey, principal

DEFAULT_TRUST_DOMAIN = "cluster.local"


@dataclass(frozen=True)
class TrustDomain:
    name: str = DEFAULT_TRUST_DOMAIN
    aliases: tuple[str, ...] = ()

    def identity(self, namespace: str, account: str) -> str:
        """The SPIFFE ID istiod issues to pods of ``namespace/account`` (what a peer's
        certificate carries and a policy's principal is matched against)."""
        return f"spiffe://{principal(ServiceKey(namespace, account), self.name)}"


DEFAULT_TRUST = TrustDomain()

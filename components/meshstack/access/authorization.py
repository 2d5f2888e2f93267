"""One caller, one callee: what the authorization policies decide, as Istio evaluates them.

DENY policies first, then, if any ALLOW policy selects the callee (or its namespace is
default-deny), a request needs a matching ALLOW rule. Calls inside the mesh carry no JWT,
so rules on request principals never match them (requests through a gateway may carry
end users' tokens); with mTLS DISABLEd the caller's identity is unknown, so identity rules
never match. ``graph`` asks it for every pair, ``ingress`` for each gateway's backends,
``egress`` for the external hosts, validation for the gateways' own identities.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from meshstack.enforcement import Enforcement, Placement
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.refs import ServiceKey, service_account_key
from meshstack.spec.security import (
    AuthorizationAction,
    AuthorizationPolicy,
    AuthorizationRule,
    JwtRule,
    MtlsMode,
    RequestSource,
)


class Verdict(StrEnum):
    ALLOWED = "allowed"
    PARTIAL = "some requests"
    """Only some methods, paths or ports are allowed (or denied)."""
    DENIED = "denied"


SYMBOL = {Verdict.ALLOWED: "✓", Verdict.PARTIAL: "~", Verdict.DENIED: "✗"}


@dataclass(frozen=True)
class Call:
    caller: str
    callee: str
    declared: bool
    verdict: Verdict
    reason: str


@dataclass(frozen=True)
class Endpoint:
    key: ServiceKey
    account: ServiceKey
    ports: frozenset[int]
    """Container (target) ports: what AuthorizationPolicy ``ports`` match, not Service ports."""

    @property
    def label(self) -> str:
        return f"{self.key.namespace}/{self.key.name}"


class _Match(StrEnum):
    NONE = "none"
    SOME = "some"
    ALL = "all"


def endpoints(spec: MeshSpec) -> list[Endpoint]:
    return [
        Endpoint(
            key=ServiceKey(app.namespace, w.name),
            account=ServiceKey(app.namespace, w.identity),
            ports=frozenset(p.container_port for p in w.ports),
        )
        for app in spec.apps
        for w in app.workloads
    ]


class Evaluator:
    """Indexes policies by namespace once; each pair is then judged in O(policies there)."""

    def __init__(self, spec: MeshSpec, placement: Placement) -> None:
        self.spec = spec
        self.placement = placement
        self.by_namespace: dict[str, list[AuthorizationPolicy]] = {}
        for policy in spec.policy.authorization_policies:
            self.by_namespace.setdefault(policy.namespace, []).append(policy)
        self.default_deny = set(spec.policy.default_deny_namespaces)
        self.jwt_required = {
            (rule.namespace, rule.workload): rule
            for rule in spec.policy.jwt_rules
            if rule.require_token and rule.gateway is None  # a gateway's: its requests only
        }
        self.mtls = self._mtls_modes()
        self.selecting: dict[ServiceKey, list[AuthorizationPolicy]] = {}
        self.facts: dict[
            ServiceKey, tuple[MtlsMode, str | None, JwtRule | None, list[AuthorizationPolicy]]
        ] = {}
        self.accounts: dict[tuple[int, str], set[ServiceKey]] = {}
        """A source's service accounts as keys, per namespace they are read from (a bare
        name is the caller's namespace's): the same few sources are asked of every pair."""

    def _mtls_modes(self) -> dict[tuple[str | None, str | None], MtlsMode]:
        return {self.spec.mtls_scope(pa): pa.mode for pa in self.spec.policy.peer_authentications}

    def mtls_mode(self, key: ServiceKey) -> MtlsMode:
        for scope in ((key.namespace, key.name), (key.namespace, None), (None, None)):
            if scope in self.mtls:
                return self.mtls[scope]
        return MtlsMode.PERMISSIVE

    def _callee_facts(
        self, callee: ServiceKey
    ) -> tuple[MtlsMode, str | None, JwtRule | None, list[AuthorizationPolicy]]:
        """What decides every call to ``callee`` whoever calls: its mTLS mode, its
        waypoint, the JWT rule requiring a token and the policies selecting it — found
        once per callee, not once per pair."""
        found = self.facts.get(callee)
        if found is None:
            jwt = self.jwt_required.get((callee.namespace, callee.name)) or self.jwt_required.get(
                (callee.namespace, None)
            )
            found = self.facts[callee] = (
                self.mtls_mode(callee),
                self.placement.waypoint(callee.namespace, callee.name),
                jwt,
                self._policies(callee),
            )
        return found

    def _applies(self, policy: AuthorizationPolicy, callee: ServiceKey) -> bool:
        if policy.gateway is not None:
            return False  # attached to a Gateway API gateway, not to the namespace's pods
        return policy.workload is None or policy.workload == callee.name

    def _policies(self, callee: ServiceKey) -> list[AuthorizationPolicy]:
        """The policies selecting ``callee``, found once per callee: judging every caller
        against a namespace's whole policy list made the matrix cubic in its size."""
        found = self.selecting.get(callee)
        if found is None:
            found = [
                policy
                for namespace in (self.spec.root_namespace, callee.namespace)
                for policy in self.by_namespace.get(namespace, ())
                if (namespace == callee.namespace or policy.workload is None)
                and self._applies(policy, callee)
            ]
            self.selecting[callee] = found
        return found

    def _rule_match(
        self,
        rule: AuthorizationRule,
        caller: Endpoint,
        callee: Endpoint,
        identity: bool,
        tokens: bool = False,
    ) -> _Match:
        if rule.match_all:
            return _Match.ALL
        sources = [self._source_match(s, caller, identity, tokens) for s in rule.sources]
        if rule.sources and _Match.ALL not in sources and _Match.SOME not in sources:
            return _Match.NONE
        by_token = bool(rule.sources) and _Match.ALL not in sources
        if not rule.operations:
            return _Match.SOME if by_token else _Match.ALL
        best = _Match.NONE
        for op in rule.operations:
            ports = set(op.ports) & callee.ports if op.ports else set(callee.ports)
            if op.ports and not ports:
                continue
            if op.methods or op.paths or (op.ports and ports != set(callee.ports)):
                best = _Match.SOME
            else:
                return _Match.SOME if by_token else _Match.ALL
        return best

    def _source_match(
        self, source: RequestSource, caller: Endpoint, identity: bool, tokens: bool
    ) -> _Match:
        """ALL: the caller matches; SOME: only requests with a matching token do (at the
        edge, where end users bring them); NONE: never."""
        if source.request_principals and not tokens:
            return _Match.NONE
        if not self._source_matches(source, caller, identity):
            return _Match.NONE
        return _Match.SOME if source.request_principals else _Match.ALL

    def _source_matches(self, source: RequestSource, caller: Endpoint, identity: bool) -> bool:
        if source.service_accounts:
            if not identity:
                return False
            read_in = (id(source), caller.key.namespace)
            accounts = self.accounts.get(read_in)
            if accounts is None:
                accounts = self.accounts[read_in] = {
                    service_account_key(a, caller.key.namespace) for a in source.service_accounts
                }
            if caller.account not in accounts:
                return False
        if source.namespaces:
            return identity and caller.key.namespace in source.namespaces
        return True

    def judge(
        self,
        caller: Endpoint,
        callee: Endpoint,
        *,
        end_user_tokens: bool = False,
        plaintext: bool = False,
        from_gateway: bool = False,
    ) -> tuple[Verdict, str]:
        """``end_user_tokens``: the requests may carry end users' JWTs (they come through
        an ingress gateway), so token rules can match some of them. ``plaintext``: the
        caller's proxy cannot speak mTLS to the callee (it does not know the host).
        ``from_gateway``: the caller is a gateway's proxy (it uses a service's waypoint,
        which meshstack labels ``istio.io/ingress-use-waypoint``)."""
        mode, waypoint, jwt, policies = self._callee_facts(callee.key)
        if plaintext and mode is MtlsMode.STRICT:
            return Verdict.DENIED, "plaintext (passed through), which STRICT mTLS refuses"
        caller_is_ambient = self.placement.of(caller.key.namespace) is not Enforcement.SIDECAR
        if waypoint is not None and not caller_is_ambient and not from_gateway:
            # Istio's sidecars send to a service's workloads, never to its waypoint (only
            # ztunnel and opted-in gateways use it): every policy meshstack attaches to the
            # waypoint is off the path, and ztunnel at the callee enforces none of them.
            return (
                Verdict.ALLOWED,
                f"bypasses waypoint {callee.key.namespace}/{waypoint}: a sidecar sends to the "
                "workload itself, where ztunnel enforces none of the waypoint's policies",
            )
        identity = mode is not MtlsMode.DISABLE and not plaintext
        if jwt is not None and not end_user_tokens:
            if jwt.unauthenticated_paths:
                return Verdict.PARTIAL, f"JWT required by {jwt.name} except on some paths"
            return Verdict.DENIED, f"JWT required by {jwt.name}; mesh calls carry none"
        allows: list[tuple[AuthorizationPolicy, _Match]] = []
        partial_deny = None
        for policy in policies:
            matches = [
                self._rule_match(r, caller, callee, identity, end_user_tokens) for r in policy.rules
            ]
            best = (
                _Match.ALL
                if _Match.ALL in matches
                else _Match.SOME
                if _Match.SOME in matches
                else _Match.NONE
            )
            if policy.action is AuthorizationAction.DENY:
                if best is _Match.ALL:
                    return Verdict.DENIED, f"DENY {policy.namespace}/{policy.name}"
                if best is _Match.SOME:
                    partial_deny = policy
            elif policy.action is AuthorizationAction.ALLOW:
                allows.append((policy, best))
        has_allow = bool(allows) or callee.key.namespace in self.default_deny
        if not has_allow:
            verdict, reason = Verdict.ALLOWED, "no ALLOW policy selects the callee"
        elif any(m is _Match.ALL for _, m in allows):
            policy = next(p for p, m in allows if m is _Match.ALL)
            verdict, reason = Verdict.ALLOWED, f"ALLOW {policy.namespace}/{policy.name}"
        elif any(m is _Match.SOME for _, m in allows):
            policy = next(p for p, m in allows if m is _Match.SOME)
            verdict, reason = (
                Verdict.PARTIAL,
                f"ALLOW {policy.namespace}/{policy.name} (some operations)",
            )
        else:
            why = (
                "default-deny"
                if callee.key.namespace in self.default_deny
                else "no ALLOW rule matches"
            )
            verdict, reason = (
                Verdict.DENIED,
                why + ("" if identity else " (mTLS DISABLE: caller identity unknown)"),
            )
        if partial_deny is not None and verdict is Verdict.ALLOWED:
            return (
                Verdict.PARTIAL,
                f"DENY {partial_deny.namespace}/{partial_deny.name} (some operations)",
            )
        return verdict, reason

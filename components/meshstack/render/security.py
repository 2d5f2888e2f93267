"""PeerAuthentications, AuthorizationPolicies (default-deny included) and JWT rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from meshstack.enforcement import Enforcement, Placement
from meshstack.k8s import SECURITY, K8sObject, drop_none, k8s_object
from meshstack.model import model_of
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.refs import ServiceKey, gateway_key, principal, service_account_key
from meshstack.spec.security import (
    AuthorizationPolicy,
    AuthorizationRule,
    JwtRule,
    PeerAuthentication,
    RequestOperation,
    RequestSource,
)


def _selector(workload: str | None) -> dict[str, Any] | None:
    return {"matchLabels": {"app": workload}} if workload else None


def _attachment(
    placement: Placement, namespace: str, workload: str | None, gateway: str | None = None
) -> dict[str, Any]:
    """How a policy reaches its enforcement point: a pod ``selector`` (sidecars, ztunnel),
    or ``targetRefs`` to a Gateway API gateway, to the workload's Service or,
    namespace-wide, to every waypoint of the namespace."""
    if gateway is not None:
        return {"targetRefs": [_gateway_ref(gateway_key(gateway, namespace).name)]}
    if workload is not None:
        if placement.of(namespace, workload) is Enforcement.WAYPOINT:
            return {"targetRefs": [{"group": "", "kind": "Service", "name": workload}]}
        return {"selector": _selector(workload)}
    if placement.of(namespace) is Enforcement.WAYPOINT:
        return {"targetRefs": [_gateway_ref(w) for w in placement.waypoints(namespace)]}
    return {}


def _gateway_ref(name: str) -> dict[str, str]:
    """A reference to a Gateway API Gateway: a waypoint or an ingress gateway."""
    return {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": name}


def peer_authentication(pa: PeerAuthentication, root_namespace: str) -> K8sObject:
    spec = drop_none(
        {
            "selector": _selector(pa.workload),
            "mtls": {"mode": pa.mode.value},
            "portLevelMtls": {
                str(port): {"mode": mode.value} for port, mode in pa.port_modes.items()
            }
            or None,
        }
    )
    return k8s_object(
        SECURITY, "PeerAuthentication", pa.name, pa.namespace or root_namespace, spec=spec
    )


def _source(source: RequestSource, namespace: str, trust_domain: str) -> dict[str, Any]:
    principals = [
        principal(service_account_key(sa, namespace), trust_domain)
        for sa in source.service_accounts
    ]
    return drop_none(
        {
            "principals": principals or None,
            "namespaces": list(source.namespaces) or None,
            "requestPrincipals": list(source.request_principals) or None,
        }
    )


def _operation(op: RequestOperation) -> dict[str, Any]:
    return drop_none(
        {
            "methods": list(op.methods) or None,
            "paths": list(op.paths) or None,
            "ports": [str(p) for p in op.ports] or None,
        }
    )


def _rule(rule: AuthorizationRule, namespace: str, trust_domain: str) -> dict[str, Any]:
    return drop_none(
        {
            "from": [{"source": _source(s, namespace, trust_domain)} for s in rule.sources] or None,
            "to": [{"operation": _operation(o)} for o in rule.operations] or None,
        }
    )


def authorization_policy(
    ap: AuthorizationPolicy, trust_domain: str, placement: Placement
) -> K8sObject:
    spec = {
        **_attachment(placement, ap.namespace, ap.workload, ap.gateway),
        "action": ap.action.value,
        "rules": [_rule(r, ap.namespace, trust_domain) for r in ap.rules],
    }
    return k8s_object(SECURITY, "AuthorizationPolicy", ap.name, ap.namespace, spec=spec)


def default_deny(namespace: str, placement: Placement, trust_domain: str) -> Iterator[K8sObject]:
    """An ALLOW policy with no rules: nothing matches, so every request is denied.

    Where waypoints enforce, they deny by default, and ztunnel in front of the pods behind
    them lets only their identities through, so no caller skips the waypoints' checks."""
    waypoints = placement.waypoints(namespace)
    if not waypoints:
        yield _policy("default-deny", namespace, {})
        return

    def through(names: list[str]) -> list[dict[str, Any]]:
        accounts = [principal(ServiceKey(namespace, n), trust_domain) for n in names]
        return [{"from": [{"source": {"principals": accounts}}]}]

    yield _policy("default-deny", namespace, {"targetRefs": [_gateway_ref(w) for w in waypoints]})
    if placement.of(namespace) is Enforcement.WAYPOINT:
        yield _policy(
            "only-through-waypoint", namespace, {"action": "ALLOW", "rules": through(waypoints)}
        )
        return
    yield _policy("default-deny-pods", namespace, {})
    for workload in placement.with_own_waypoint(namespace):
        own = placement.waypoint(namespace, workload)
        assert own is not None
        spec = {"selector": _selector(workload), "action": "ALLOW", "rules": through([own])}
        yield _policy(f"{workload}-only-through-waypoint", namespace, spec)


def _policy(name: str, namespace: str, spec: dict[str, Any]) -> K8sObject:
    return k8s_object(SECURITY, "AuthorizationPolicy", name, namespace, spec=spec)


def request_authentication(jwt: JwtRule, placement: Placement) -> K8sObject:
    rule = drop_none(
        {
            "issuer": jwt.issuer,
            "jwksUri": jwt.jwks_uri,
            "audiences": list(jwt.audiences) or None,
            "forwardOriginalToken": jwt.forward_original_token or None,
        }
    )
    spec = {**_attachment(placement, jwt.namespace, jwt.workload, jwt.gateway), "jwtRules": [rule]}
    return k8s_object(SECURITY, "RequestAuthentication", jwt.name, jwt.namespace, spec=spec)


def require_token_policy(jwt: JwtRule, placement: Placement) -> K8sObject:
    """DENY requests without a valid token from this issuer (except the open paths).

    A DENY on ``notRequestPrincipals: ["*"]`` composes with any ALLOW policies
    instead of widening them, which an ALLOW rule here would do.
    """
    to = (
        [{"operation": {"notPaths": list(jwt.unauthenticated_paths)}}]
        if jwt.unauthenticated_paths
        else None
    )
    rule = drop_none({"from": [{"source": {"notRequestPrincipals": ["*"]}}], "to": to})
    spec = {
        **_attachment(placement, jwt.namespace, jwt.workload, jwt.gateway),
        "action": "DENY",
        "rules": [rule],
    }
    return k8s_object(
        SECURITY, "AuthorizationPolicy", f"{jwt.name}-require-token", jwt.namespace, spec=spec
    )


def render_security(spec: MeshSpec) -> Iterator[K8sObject]:
    """mTLS stays with the pods (sidecars or ztunnel carry it); authorization and JWT
    rules go where the namespace's data plane enforces them (:mod:`meshstack.enforcement`)."""
    policy = spec.policy
    placement = model_of(spec).placement
    for pa in policy.peer_authentications:
        yield peer_authentication(pa, spec.root_namespace)
    for namespace in policy.default_deny_namespaces:
        yield from default_deny(namespace, placement, spec.trust_domain)
    for ap in policy.authorization_policies:
        yield authorization_policy(ap, spec.trust_domain, placement)
    for jwt in policy.jwt_rules:
        yield request_authentication(jwt, placement)
        if jwt.require_token:
            yield require_token_policy(jwt, placement)

"""Security: mTLS (PeerAuthentication), authorization and JWT request authentication."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from meshstack.spec.base import DnsLabel, NonEmptyStr, PortNumber, Spec


class MtlsMode(StrEnum):
    """What a sidecar accepts from its peers."""

    STRICT = "STRICT"
    """Only mutual TLS: plaintext callers are rejected."""
    PERMISSIVE = "PERMISSIVE"
    """Mutual TLS and plaintext both accepted (migration mode)."""
    DISABLE = "DISABLE"
    """Plaintext only."""


class PeerAuthentication(Spec):
    """mTLS mode at mesh (no namespace), namespace, workload or port level.

    A mesh-wide policy lives in Istio's root namespace; there can be only one.
    ``port_modes`` overrides the mode per container port and needs a workload.
    """

    name: DnsLabel = "default"
    namespace: DnsLabel | None = None
    workload: str | None = None
    mode: MtlsMode = MtlsMode.STRICT
    port_modes: dict[int, MtlsMode] = Field(default_factory=dict)


class AuthorizationAction(StrEnum):
    ALLOW = "ALLOW"
    DENY = "DENY"
    AUDIT = "AUDIT"


class RequestSource(Spec):
    """Who is calling: service accounts (``namespace/name``), namespaces, JWT principals."""

    service_accounts: tuple[NonEmptyStr, ...] = ()
    namespaces: tuple[NonEmptyStr, ...] = ()
    request_principals: tuple[NonEmptyStr, ...] = ()
    """``issuer/subject`` of a validated JWT; ``*`` means any valid token."""


class RequestOperation(Spec):
    """What is being called: methods, paths and ports."""

    methods: tuple[NonEmptyStr, ...] = ()
    paths: tuple[NonEmptyStr, ...] = ()
    ports: tuple[PortNumber, ...] = ()


class AuthorizationRule(Spec):
    """Matches when any ``sources`` entry and any ``operations`` entry match.

    A rule with neither matches every request, which is almost always a bug in
    an ALLOW policy; validation rejects it unless ``match_all`` says so.
    """

    sources: tuple[RequestSource, ...] = ()
    operations: tuple[RequestOperation, ...] = ()
    match_all: bool = False


class AuthorizationPolicy(Spec):
    """ALLOW / DENY / AUDIT rules for a namespace, or one workload in it."""

    name: DnsLabel
    namespace: DnsLabel
    workload: str | None = None
    gateway: str | None = None
    """A Gateway API gateway in this namespace (``name``) to attach to instead of pods:
    istiod deploys its proxy, so rules reach it through ``targetRefs``."""
    action: AuthorizationAction = AuthorizationAction.ALLOW
    rules: tuple[AuthorizationRule, ...]


class JwtRule(Spec):
    """Validate JWTs from one issuer (a RequestAuthentication).

    A RequestAuthentication alone still lets requests *without* a token
    through. With ``require_token`` (the default) an AuthorizationPolicy is
    rendered beside it that only allows requests carrying a valid token.
    """

    name: DnsLabel
    namespace: DnsLabel
    workload: str | None = None
    gateway: str | None = None
    """A Gateway API gateway in this namespace to check tokens at (``targetRefs``), as
    ``workload`` names an installed gateway's deployment."""
    issuer: NonEmptyStr
    jwks_uri: NonEmptyStr
    audiences: tuple[str, ...] = ()
    forward_original_token: bool = False
    require_token: bool = True
    """Render the AuthorizationPolicy that rejects requests with no valid token."""
    unauthenticated_paths: tuple[NonEmptyStr, ...] = ()
    """Paths still reachable without a token (health checks, login pages)."""

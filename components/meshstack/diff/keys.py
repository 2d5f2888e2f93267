"""What a line of the semantic diff is about, as data: a kind, a scope, a part, a field.

``diff_subjects`` names every object and fact with a :class:`SubjectKey`, the diff adds
the changed field, and ``diff_risk`` matches on the key's parts — never on its text. The
text a reviewer reads (``route bookinfo/reviews#0 timeout``) is only how a key prints, so
renaming it cannot silently disable a risk rule.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Kind(StrEnum):
    """Every kind of thing the diff reports on; the value is how a line starts."""

    MESH = "mesh"
    NAMESPACE = "namespace"
    APP = "app"
    WORKLOAD = "workload"
    IMAGE = "image"
    VERSION = "version"
    GATEWAY_WORKLOAD = "gateway workload"
    VIRTUAL_SERVICE = "virtual service"
    ROUTE = "route"
    CANARY = "canary"
    DESTINATION_POLICY = "destination policy"
    MTLS = "mTLS"
    MTLS_POLICY = "mTLS policy"
    DEFAULT_DENY = "default-deny"
    AUTHORIZATION = "authorization"
    JWT = "JWT"
    ACCESS = "access"
    """An effective permission, ``caller → callee``: it prints as its scope alone."""
    GATEWAY = "gateway"
    EGRESS = "egress"
    SIDECAR = "sidecar"
    TELEMETRY = "telemetry"
    RATE_LIMIT = "rate limit"
    SLO = "slo"
    SLO_RULES = "slo rules"
    """Who evaluates the SLOs' rules (the add-on, or the Operator's Prometheus)."""
    ISTIO_VERSION = "istio version"
    ISTIOD_REVISIONS = "istiod revisions"
    REVISION_TAG = "revision tag"
    ISTIO_CHARTS = "istio charts from"
    INSTALL = "install"
    MESH_CONFIG = "mesh config"
    ISTIOD = "istiod"
    GATEWAY_INSTALL = "gateway install"
    ADDONS = "add-ons"
    ADDONS_FROM = "add-ons from"
    ADDON_SETTINGS = "add-ons settings"
    ADDON = "add-on"
    GATEWAY_API_CRDS = "gateway api crds"
    GATEWAY_API_FROM = "gateway api crds from"
    MULTI_CLUSTER = "multi-cluster"
    """The mesh over several clusters: its ID, topology, east-west gateway, shared root."""
    CLUSTER = "cluster"


@dataclass(frozen=True)
class SubjectKey:
    """One object or fact of the diff, and (``field``) which of its fields changed."""

    kind: Kind
    scope: str = ""
    """Which one: ``bookinfo/reviews``, ``mesh``, ``shop/web → shop/api``."""
    part: str = ""
    """A piece of it with its own lines: a gateway's ``server :443``, a canary's ``split``."""
    field: str = ""

    def with_field(self, field: str) -> SubjectKey:
        return replace(self, field=field)

    def __str__(self) -> str:
        head = (self.scope,) if self.kind is Kind.ACCESS else (self.kind.value, self.scope)
        return " ".join(p for p in (*head, self.part, self.field) if p)

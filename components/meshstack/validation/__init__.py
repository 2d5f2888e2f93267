"""Whole-spec validation: every problem at once, each with its field path.

Runs before anything is rendered or registered, so a broken stack never gets
half-applied. Cost is linear in the size of the spec: lookups go through
:class:`~meshstack.validation.index.MeshIndex`, built once.
"""

from __future__ import annotations

from meshstack.spec.mesh import MeshSpec
from meshstack.validation.ambient_rules import ambient_problems
from meshstack.validation.edge_rules import (
    egress_problems,
    gateway_api_problems,
    gateway_problems,
    ingress_permission_problems,
    proxy_problems,
)
from meshstack.validation.fields import field_problems
from meshstack.validation.index import build_index
from meshstack.validation.install_rules import addon_problems, install_problems
from meshstack.validation.multicluster_rules import multicluster_problems
from meshstack.validation.problems import Problem, SpecInvalid
from meshstack.validation.security_rules import SecurityRules
from meshstack.validation.slo_rules import slo_problems
from meshstack.validation.traffic_rules import TrafficRules
from meshstack.validation.uniqueness import duplicate_name_problems
from meshstack.validation.workload_rules import app_problems, namespace_problems

__all__ = ["Problem", "SpecInvalid", "check", "validate"]


def validate(spec: MeshSpec) -> list[Problem]:
    """All problems in ``spec``, sorted by field path; empty when it is valid."""
    index = build_index(spec)
    traffic = TrafficRules(spec, index)
    security = SecurityRules(spec, index)
    found = [
        *field_problems(spec),
        *namespace_problems(spec),
        *duplicate_name_problems(spec),
        *app_problems(spec, index),
        *traffic.virtual_services(),
        *traffic.destination_policies(),
        *traffic.canaries(),
        *security.peer_authentications(),
        *security.authorization_policies(),
        *security.jwt_rules(),
        *gateway_problems(spec, index),
        *gateway_api_problems(spec),
        *ingress_permission_problems(spec),
        *ambient_problems(spec),
        *egress_problems(spec, index),
        *proxy_problems(spec, index),
        *install_problems(spec),
        *addon_problems(spec),
        *slo_problems(spec, index),
        *multicluster_problems(spec),
    ]
    return sorted(set(found))


_last_valid: list[MeshSpec] = []
"""The most recent spec :func:`check` accepted, held strongly so its identity stays
unique: components nested in ``MeshStack`` check the same (immutable) spec again,
and that repeat costs nothing."""


def check(spec: MeshSpec) -> MeshSpec:
    """Return ``spec`` unchanged when valid; raise :class:`SpecInvalid` listing every problem."""
    if _last_valid and _last_valid[0] is spec:
        return spec
    problems = validate(spec)
    if problems:
        raise SpecInvalid(spec.stack, problems)
    _last_valid[:] = [spec]
    return spec

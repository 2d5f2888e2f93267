"""No allow-all authorization: an ALLOW rule must say who or what it allows.

An ALLOW policy whose rule is empty (``rules: [{}]``) matches every request,
and a rule whose only condition is "any principal" or "any namespace" lets
every workload of the mesh in: both quietly undo a namespace's default-deny.
A policy with *no* rules is the opposite (deny all) and is fine. Rules on
``requestPrincipals: ["*"]`` are the standard "a valid JWT is required" and
are not wildcards over callers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from meshstack.guardrails.model import GuardrailSettings, PlannedResource, as_list

WILDCARD_FIELDS = frozenset({"principals", "namespaces"})


def _is_wildcard_source(entry: Any) -> bool:
    if not isinstance(entry, Mapping):
        return False
    source = entry.get("source")
    if not isinstance(source, Mapping) or not source:
        return True  # ``from: [{}]`` names nobody, so it matches everybody
    return set(source) <= WILDCARD_FIELDS and all(
        list(values) == ["*"] for values in source.values() if isinstance(values, Sequence)
    )


def allows_everyone(rule: Any) -> bool:
    """True when an ALLOW rule matches any request from any caller."""
    if not isinstance(rule, Mapping):
        return False
    if rule.get("to") or rule.get("when"):
        return False
    sources = rule.get("from")
    if not sources:
        return True
    return isinstance(sources, Sequence) and all(_is_wildcard_source(s) for s in sources)


def no_allow_all(resource: PlannedResource, _: GuardrailSettings) -> Iterator[str]:
    if not resource.is_kind("security.istio.io", "AuthorizationPolicy"):
        return
    spec = resource.spec
    if spec.get("action", "ALLOW") != "ALLOW":
        return
    for i, rule in enumerate(as_list(spec.get("rules"))):
        if allows_everyone(rule):
            yield (
                f"{resource.display_name}: spec.rules[{i}] allows every caller; name the "
                "callers (principals of their service accounts) or the operations instead"
            )

"""In an ambient namespace, request-level rules attach to a waypoint.

ztunnel, the node proxy of ambient mode, sees connections, not HTTP requests. Istio binds
an AuthorizationPolicy that selects pods (or nothing) to ztunnel; when such a policy
checks paths, methods, hosts or token principals, ztunnel cannot evaluate it and fails
closed: the policy turns into a deny of everything it selects. A RequestAuthentication
bound to ztunnel is ignored. Both belong on a waypoint (``targetRefs``). This judges the
plan, so a hand-written policy copied from a sidecar namespace is caught as well.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from meshstack.guardrails.model import GuardrailSettings, PlannedResource, StackViolation, as_list

_SECURITY = "security.istio.io"
_REQUEST_SOURCE = ("requestPrincipals", "notRequestPrincipals")
_REQUEST_OPERATION = ("methods", "notMethods", "paths", "notPaths", "hosts", "notHosts")


def _ambient_namespaces(resources: Sequence[PlannedResource]) -> set[str]:
    found = set()
    for resource in resources:
        if resource.type != "kubernetes:core/v1:Namespace":
            continue
        meta = resource.props.get("metadata")
        labels = meta.get("labels") if isinstance(meta, Mapping) else None
        if isinstance(labels, Mapping) and labels.get("istio.io/dataplane-mode") == "ambient":
            name = meta.get("name") if isinstance(meta, Mapping) else None
            if isinstance(name, str):
                found.add(name)
    return found


def _request_attributes(spec: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    for rule in as_list(spec.get("rules")):
        if not isinstance(rule, Mapping):
            continue
        for entry in as_list(rule.get("from")):
            source = entry.get("source") if isinstance(entry, Mapping) else None
            if isinstance(source, Mapping):
                found += [k for k in _REQUEST_SOURCE if source.get(k)]
        for entry in as_list(rule.get("to")):
            operation = entry.get("operation") if isinstance(entry, Mapping) else None
            if isinstance(operation, Mapping):
                found += [k for k in _REQUEST_OPERATION if operation.get(k)]
        for condition in as_list(rule.get("when")):
            key = condition.get("key") if isinstance(condition, Mapping) else None
            if isinstance(key, str) and key.startswith("request."):
                found.append(key)
    return found


def request_rules_on_a_waypoint(
    resources: Sequence[PlannedResource], settings: GuardrailSettings
) -> Iterator[StackViolation]:
    del settings  # a correctness rule: every stack, production or not
    ambient = _ambient_namespaces(resources)
    for resource in resources:
        if resource.namespace not in ambient or not resource.api_group.endswith(_SECURITY):
            continue
        spec = resource.spec
        if spec.get("targetRefs") or spec.get("targetRef"):
            continue
        if resource.kind == "RequestAuthentication":
            yield StackViolation(
                f"{resource.display_name}: namespace {resource.namespace} is ambient and this "
                "is bound to ztunnel, which never sees tokens; attach it to a waypoint "
                "(targetRefs)",
                resource.urn,
            )
        elif resource.kind == "AuthorizationPolicy":
            attributes = sorted(set(_request_attributes(spec)))
            if attributes:
                yield StackViolation(
                    f"{resource.display_name}: namespace {resource.namespace} is ambient and "
                    f"this policy checks {', '.join(attributes)} but is bound to ztunnel, "
                    "which sees no requests and would deny everything it selects; attach it "
                    "to a waypoint (targetRefs)",
                    resource.urn,
                )

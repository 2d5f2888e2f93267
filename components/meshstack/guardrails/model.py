"""What a guardrail sees (a planned resource), how it is configured, and what it is."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_MESH_ROOT_NAMESPACE = "istio-system"


def as_list(value: Any) -> list[Any]:
    """A JSON array as a list; anything else (absent, a string, an object) as empty.

    Props are untrusted shapes (hand-written resources, SDK proxies), so every rule
    reads arrays through this instead of assuming them.
    """
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


def child(value: Any, key: str) -> Mapping[str, Any]:
    """``value[key]`` when both are JSON objects, else an empty mapping."""
    found = value.get(key) if isinstance(value, Mapping) else None
    return found if isinstance(found, Mapping) else {}


@dataclass(frozen=True)
class PlannedResource:
    """One resource as the engine plans it: Pulumi type, input properties, URN, protect.

    ``props`` is any mapping: the policy SDK hands over read-only proxies that
    raise on values unknown during preview, so rules only read what they need.
    """

    type: str
    props: Mapping[str, Any]
    urn: str
    protect: bool = False

    @property
    def stack(self) -> str:
        """The stack segment of ``urn:pulumi:<stack>::<project>::<type>::<name>``."""
        head = self.urn.split("::", 1)[0]
        return head.removeprefix("urn:pulumi:")

    @property
    def kind(self) -> str:
        """``Deployment`` for ``kubernetes:apps/v1:Deployment``."""
        return self.type.rsplit(":", 1)[-1]

    @property
    def api_group(self) -> str:
        """``networking.istio.io`` for ``kubernetes:networking.istio.io/v1:VirtualService``."""
        parts = self.type.split(":")
        return parts[1].split("/", 1)[0] if len(parts) == 3 else ""

    def is_kind(self, group_suffix: str, kind: str) -> bool:
        return self.kind == kind and self.api_group.endswith(group_suffix)

    @property
    def spec(self) -> Mapping[str, Any]:
        return child(self.props, "spec")

    @property
    def display_name(self) -> str:
        """``Kind namespace/name`` from the object's metadata, else the resource's name."""
        meta = self.props.get("metadata")
        if isinstance(meta, Mapping) and isinstance(meta.get("name"), str):
            namespace = meta.get("namespace")
            scoped = f"{namespace}/{meta['name']}" if isinstance(namespace, str) else meta["name"]
            return f"{self.kind} {scoped}"
        return f"{self.kind} {self.urn.rsplit('::', 1)[-1]}"

    @property
    def namespace(self) -> str | None:
        meta = self.props.get("metadata")
        value = meta.get("namespace") if isinstance(meta, Mapping) else None
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class GuardrailSettings:
    """What the guardrails know of the stack they judge.

    ``production`` is the stack's own ``meshstack:production`` setting
    (``meshstack.stack_config``), the same one the program protects namespaces by; the
    mesh's root namespace comes from per-policy configuration (``--policy-pack-config``).
    """

    production: bool = False
    mesh_root_namespace: str = DEFAULT_MESH_ROOT_NAMESPACE

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, production: bool) -> GuardrailSettings:
        root = config.get("meshRootNamespace")
        return cls(
            production=production,
            mesh_root_namespace=root if isinstance(root, str) else DEFAULT_MESH_ROOT_NAMESPACE,
        )

    def is_production(self, resource: PlannedResource) -> bool:
        del resource  # every resource of a plan belongs to the one stack being judged
        return self.production


CONFIG_SCHEMA: dict[str, dict[str, Any]] = {
    "meshRootNamespace": {
        "type": "string",
        "description": "Istio's root namespace, where mesh-wide policy lives (default: istio-system).",
    },
}
"""JSON schema of the settings, declared to the policy SDK so bad config is refused."""


ResourceCheck = Callable[[PlannedResource, GuardrailSettings], Iterator[str]]


@dataclass(frozen=True)
class StackViolation:
    message: str
    urn: str = ""


StackCheck = Callable[[Sequence[PlannedResource], GuardrailSettings], Iterator[StackViolation]]


@dataclass(frozen=True)
class ResourceGuardrail:
    """A rule judged one resource at a time; ``check`` yields one message per violation."""

    name: str
    description: str
    check: ResourceCheck
    configurable: bool = field(default=False)


@dataclass(frozen=True)
class StackGuardrail:
    """A rule over the whole planned stack (something that must exist somewhere)."""

    name: str
    description: str
    check: StackCheck
    configurable: bool = field(default=False)

"""The semantic mesh diff: what a change does to the mesh, in mesh terms.

Both sides are reduced to *facts* — one line per route, canary, destination policy,
mTLS scope, authorization policy, effective caller → callee permission, JWT rule,
egress entry, image, Istio version and add-on set — and the facts are compared.
Each change names the object and its before → after value; risky ones are flagged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from pydantic import BaseModel

from meshstack.graph import Verdict, who_can_call_whom
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.security import MtlsMode

CANARY_STEP = 25
"""By default a canary moving more traffic than this many points in one change is flagged."""

_MTLS_STRENGTH = {MtlsMode.STRICT.value: 2, MtlsMode.PERMISSIVE.value: 1, MtlsMode.DISABLE.value: 0}
_VERDICT_REACH = {Verdict.DENIED.value: 0, Verdict.PARTIAL.value: 1, Verdict.ALLOWED.value: 2}


class Outcome(IntEnum):
    """The exit status of ``meshstack diff``."""

    UNCHANGED = 0
    CHANGED = 2
    RISKY = 3


@dataclass(frozen=True)
class Change:
    key: str
    before: str | None
    after: str | None
    risk: str | None = None

    def line(self) -> str:
        if self.before is None:
            text = f"{self.key}: added: {self.after}"
        elif self.after is None:
            text = f"{self.key}: removed (was {self.before})"
        else:
            text = f"{self.key}: {self.before} → {self.after}"
        return f"{text}  ⚠ {self.risk}" if self.risk else text


def _brief(value: Any) -> str:
    return json.dumps(value, separators=(", ", ": "), ensure_ascii=False)


def _brief_or_none(value: Any) -> str | None:
    """A field left at its default is absent from the dump: ``None`` reads as added/removed."""
    return None if value is None else _brief(value)


def _fields(model: BaseModel, *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """A model's set fields as JSON data: the unit a changed object is compared in."""
    data: dict[str, Any] = model.model_dump(mode="json", exclude_defaults=True, exclude=set(drop))
    return data


Objects = dict[str, dict[str, Any]]
"""``{object: {field: value}}``: a changed object reports only the fields that changed."""


def objects(spec: MeshSpec) -> Objects:
    """Routes, canaries, destination and authorization policies, JWT and egress rules."""
    out: Objects = {}
    policy = spec.policy
    for vs in policy.virtual_services:
        for i, route in enumerate(vs.http):
            out[f"route {vs.namespace}/{vs.name}#{route.name or i}"] = _fields(
                route, drop=("name",)
            )
    for canary in policy.canaries:
        # the weight has its own fact, the split, so a weight change reads as one line
        out[f"canary {canary.namespace}/{canary.service}"] = _fields(canary, drop=("weight",))
    for dp in policy.destination_policies:
        out[f"destination policy {dp.namespace}/{dp.service}"] = _fields(dp)
    for ap in policy.authorization_policies:
        out[f"authorization {ap.namespace}/{ap.name}"] = _fields(ap)
    for jwt in policy.jwt_rules:
        out[f"JWT {jwt.namespace}/{jwt.name}"] = _fields(jwt)
    for ext in policy.external_services:
        out[f"egress {ext.namespace}/{ext.name}"] = _fields(ext)
    return out


def facts(spec: MeshSpec) -> dict[str, str]:
    """Everything else as ``{what: value}`` lines a reviewer reads."""
    out: dict[str, str] = {}
    policy = spec.policy
    for canary in policy.canaries:
        out[f"canary {canary.namespace}/{canary.service} split"] = (
            f"{canary.stable} {100 - canary.weight}% / {canary.candidate} {canary.weight}%"
        )
    for pa in policy.peer_authentications:
        scope = (
            "mesh"
            if pa.namespace is None
            else pa.namespace + (f"/{pa.workload}" if pa.workload else "")
        )
        out[f"mTLS {scope}"] = pa.mode.value
        for port, mode in sorted(pa.port_modes.items()):
            out[f"mTLS {scope}:{port}"] = mode.value
    for ns in policy.default_deny_namespaces:
        out[f"default-deny {ns}"] = "on"
    for app in spec.apps:
        for w in app.workloads:
            for v in w.versions:
                out[f"image {app.namespace}/{w.name}/{v.name}"] = v.image
    for call in who_can_call_whom(spec):
        if call.verdict is not Verdict.DENIED:
            out[f"{call.caller} → {call.callee}"] = call.verdict.value
    if spec.install is not None:
        out["istio version"] = spec.install.version
        out["istiod revisions"] = ", ".join(
            f"{cp.name}@{spec.install.version_of(cp.version)}" for cp in spec.install.control_planes
        )
        for tag in spec.install.revision_tags:
            out[f"revision tag {tag.name}"] = tag.revision
    out["add-ons"] = ", ".join(spec.addons.enabled) or "none"
    return out


def _risk(
    key: str, before: str | None, after: str | None, head: MeshSpec, canary_step: int
) -> str | None:
    weakened = after is None or _MTLS_STRENGTH.get(after, 0) < _MTLS_STRENGTH.get(before or "", 0)
    if key.startswith("mTLS ") and before is not None and weakened:
        return "mTLS weakened"
    if " → " in key and not key.startswith(("route", "canary")):
        reach_before = _VERDICT_REACH[before or Verdict.DENIED.value]
        if _VERDICT_REACH[after or Verdict.DENIED.value] > reach_before:
            return "access widened"
    if key.startswith("default-deny ") and after is None:
        return "default-deny removed"
    if key.endswith(" split") and before is not None and after is not None:
        jump = abs(_candidate_percent(after) - _candidate_percent(before))
        if jump > canary_step:
            return f"canary moves {jump} points at once (step {canary_step})"
    new_fault = after is not None and (
        (key.endswith(" fault") and before is None)
        or ('"fault"' in after and (before is None or '"fault"' not in before))
    )
    if key.startswith(("route ", "canary ")) and new_fault and head.stack == "prod":
        return "fault injection reaches prod"
    return None


def _candidate_percent(split: str) -> int:
    """``'v1 90% / v3 10%'`` → 10."""
    return int(split.rsplit(" ", 1)[1].rstrip("%"))


def diff(base: MeshSpec, head: MeshSpec, *, canary_step: int = CANARY_STEP) -> list[Change]:
    """Every fact that differs, sorted by what it is about.

    An object present on both sides reports each changed field (``route
    bookinfo/reviews#0 timeout: "5s" → "10s"``); an added or removed object is
    one line with all of it.
    """
    old_objects, new_objects = objects(base), objects(head)
    old_facts, new_facts = facts(base), facts(head)
    keys = old_objects.keys() | new_objects.keys() | old_facts.keys() | new_facts.keys()
    changes = []
    for key in sorted(keys):
        if key in old_objects and key in new_objects:
            pairs = [
                (
                    f"{key} {field}",
                    _brief_or_none(old_objects[key].get(field)),
                    _brief_or_none(new_objects[key].get(field)),
                )
                for field in sorted(old_objects[key].keys() | new_objects[key].keys())
            ]
        else:
            before = _brief(old_objects[key]) if key in old_objects else old_facts.get(key)
            after = _brief(new_objects[key]) if key in new_objects else new_facts.get(key)
            pairs = [(key, before, after)]
        changes += [
            Change(line_key, before, after, _risk(line_key, before, after, head, canary_step))
            for line_key, before, after in pairs
            if before != after
        ]
    return changes


def outcome(changes: list[Change]) -> Outcome:
    if any(c.risk for c in changes):
        return Outcome.RISKY
    return Outcome.CHANGED if changes else Outcome.UNCHANGED


def to_markdown(title: str, changes: list[Change]) -> str:
    risky = [c for c in changes if c.risk]
    lines = [f"# Mesh diff — {title}", ""]
    if not changes:
        return "\n".join([*lines, "No change to the mesh.", ""])
    lines.append(f"{len(changes)} change(s), {len(risky)} risky.")
    if risky:
        lines += ["", "## Risky", "", *(f"- {c.line()}" for c in risky)]
    lines += ["", "## All changes", "", *(f"- {c.line()}" for c in changes), ""]
    return "\n".join(lines)

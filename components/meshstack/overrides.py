"""Typed, validated Pulumi config overrides for the values teams tune per stack.

Stacks are code, but some values change often and are better set with
``pulumi config set``: a canary's weight, image tags, replica counts. Config
keys (namespace ``meshstack``):

* ``canaryWeights``: ``{service: percent}``: percent of traffic to the candidate
* ``imageTags``: ``{workload or workload/version: tag}``
* ``replicas``: ``{workload: count}``

Items are addressed as validation names them: ``namespace/name`` (``shop/api``), or the
bare name when only one namespace has it; an ambiguous bare name is an error listing the
candidates, never a silent pick (``imageTags`` also takes ``namespace/workload/version``).
* ``istioCharts``: where the Istio charts come from, e.g. ``{kind: local, path: ...,
  layout: istio-source}`` or ``{kind: oci, url: oci://...}`` (air-gapped mirrors)
* ``validationFailurePolicy``: ``Fail`` or ``Ignore``, the install's webhook failure
  policy for this environment (``Ignore`` for an API server where istiod never runs,
  such as the end-to-end tests')
* ``addonsSource``: where the add-ons come from: ``{kind: charts}`` (their charts, the
  default) or ``{kind: istio-samples, path: .../samples/addons}`` (offline machines)
* ``gatewayApiCrds``: where the Gateway API's CRDs come from when a gateway uses that
  API: ``{kind: release}`` (the project's release manifest, the default; ``url`` for a
  mirror) or ``{kind: local, path: .../config/crd/standard}`` (offline machines)

Unknown keys and bad values are reported like spec problems, with the config
key as path, before anything is registered.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import ValidationError

from meshstack.spec.addons import AddonSource
from meshstack.spec.base import NonNegativeInt, Spec, Weight, field_check
from meshstack.spec.formats import ImageTag
from meshstack.spec.gateway_api import GatewayApiSource
from meshstack.spec.install import ChartSource, ValidationFailurePolicy
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.workloads import App, Version, Workload
from meshstack.stack_config import CONFIG_NAMESPACE, SETTING_KEYS
from meshstack.validation.problems import Problem

OVERRIDE_KEYS = (
    "canaryWeights",
    "imageTags",
    "replicas",
    "istioCharts",
    "addonsSource",
    "gatewayApiCrds",
    "validationFailurePolicy",
)
KNOWN_KEYS = OVERRIDE_KEYS + SETTING_KEYS


def _whole(value: Any) -> bool:
    """A whole number as config gives it (an int, or a float without a fraction)."""
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer()
    )


# The spec's own rules for the fields config overrides: one grammar, one range.
_WEIGHT = field_check(Weight)
_TAG = field_check(ImageTag)
_REPLICAS = field_check(NonNegativeInt)


def with_tag(image: str, tag: str) -> str:
    """``repo/name:old`` → ``repo/name:tag`` (a registry port is not mistaken for a tag)."""
    base, colon, old = image.rpartition(":")
    if colon and "/" not in old:
        return f"{base}:{tag}"
    return f"{image}:{tag}"


def apply_overrides(spec: MeshSpec, config: Mapping[str, Any]) -> tuple[MeshSpec, list[Problem]]:
    """``spec`` with the config values applied, and the problems found in ``config``.

    ``config`` holds the keys without the ``meshstack:`` prefix.
    """
    problems: list[Problem] = []
    named = spec.multicluster.config_keys if spec.multicluster is not None else ()
    for config_key in config:
        if config_key not in KNOWN_KEYS and config_key not in named:
            close = difflib.get_close_matches(config_key, KNOWN_KEYS, n=1)
            hint = f"did you mean {CONFIG_NAMESPACE}:{close[0]}? " if close else ""
            problems.append(
                Problem(
                    f"{CONFIG_NAMESPACE}:{config_key}",
                    f"unknown config key; {hint}known: {', '.join(KNOWN_KEYS)}",
                )
            )
    weights = _mapping(config, "canaryWeights", problems)
    tags = _mapping(config, "imageTags", problems)
    replicas = _mapping(config, "replicas", problems)

    canaries = list(spec.policy.canaries)
    canary_at = {(c.namespace, c.service): i for i, c in enumerate(canaries)}
    for target, weight in weights.items():
        path = f"{CONFIG_NAMESPACE}:canaryWeights.{target}"
        key = _addressed(target, canary_at, path, "canary", problems)
        if key is None:
            continue
        if not _whole(weight) or not _WEIGHT.accepts(int(weight)):
            problems.append(Problem(path, f"{weight!r} is not {_WEIGHT.expected}"))
            continue
        i = canary_at[key]
        canaries[i] = canaries[i].model_copy(update={"weight": int(weight)})

    workloads = {(app.namespace, w.name): w for app in spec.apps for w in app.workloads}
    tag_of: dict[tuple[str, str, str | None], str] = {}
    for target, tag in tags.items():
        path = f"{CONFIG_NAMESPACE}:imageTags.{target}"
        found = _tag_target(target, workloads, path, problems)
        if found is None:
            continue
        key, version = found
        if workloads[key].virtual_machines:
            problems.append(
                Problem(path, f"{key[1]!r} runs on virtual machines: it has no image to tag")
            )
        elif not isinstance(tag, str) or not _TAG.accepts(tag):
            problems.append(Problem(path, f"{tag!r} is not {_TAG.expected}"))
        else:
            tag_of[(*key, version)] = tag
    replica_of: dict[tuple[str, str], int] = {}
    for target, count in replicas.items():
        path = f"{CONFIG_NAMESPACE}:replicas.{target}"
        key = _addressed(target, workloads, path, "workload", problems)
        if key is None:
            continue
        if workloads[key].virtual_machines:
            problems.append(
                Problem(path, f"{key[1]!r} runs on virtual machines: they are not replicas")
            )
        elif not _whole(count) or not _REPLICAS.accepts(int(count)):
            problems.append(
                Problem(path, f"{count!r} is not a replica count ({_REPLICAS.expected})")
            )
        else:
            replica_of[key] = int(count)
    install = spec.install
    if "istioCharts" in config:
        if install is None:
            problems.append(
                Problem(f"{CONFIG_NAMESPACE}:istioCharts", "this stack's spec installs no Istio")
            )
        else:
            chart_source = _source_config(
                _ChartSourceConfig, config, "istioCharts", "repository, oci, local", problems
            )
            if chart_source is not None:
                install = install.model_copy(update={"chart_source": chart_source.source})
    if "validationFailurePolicy" in config:
        path = f"{CONFIG_NAMESPACE}:validationFailurePolicy"
        allowed = [p.value for p in ValidationFailurePolicy]
        policy = config["validationFailurePolicy"]
        if install is None:
            problems.append(Problem(path, "this stack's spec installs no Istio"))
        elif policy not in allowed:
            problems.append(Problem(path, f"{policy!r} is not a failure policy; one of {allowed}"))
        else:
            policy_value = ValidationFailurePolicy(policy)
            install = install.model_copy(update={"validation_failure_policy": policy_value})
    addons = spec.addons
    if "addonsSource" in config:
        addon_source = _source_config(
            _AddonSourceConfig, config, "addonsSource", "charts, istio-samples", problems
        )
        if addon_source is not None:
            addons = addons.model_copy(update={"source": addon_source.source})
    gateway_api = spec.gateway_api
    if "gatewayApiCrds" in config:
        crd_source = _source_config(
            _GatewayApiSourceConfig, config, "gatewayApiCrds", "release, local", problems
        )
        if crd_source is not None:
            gateway_api = gateway_api.model_copy(update={"source": crd_source.source})
    if problems:
        return spec, problems

    apps = tuple(_retune(app, tag_of, replica_of) for app in spec.apps)
    policy = spec.policy.model_copy(update={"canaries": tuple(canaries)})
    update = {
        "apps": apps,
        "policy": policy,
        "install": install,
        "addons": addons,
        "gateway_api": gateway_api,
    }
    return spec.model_copy(update=update), []


class _ChartSourceConfig(Spec):
    """Validates the ``istioCharts`` value (``loc`` is ``source``, the kind, then the field)."""

    source: ChartSource


class _AddonSourceConfig(Spec):
    """Validates the ``addonsSource`` value, like :class:`_ChartSourceConfig`."""

    source: AddonSource


class _GatewayApiSourceConfig(Spec):
    """Validates the ``gatewayApiCrds`` value, like :class:`_ChartSourceConfig`."""

    source: GatewayApiSource


SourceConfig = TypeVar("SourceConfig", bound=Spec)


def _source_config(
    model: type[SourceConfig],
    config: Mapping[str, Any],
    key: str,
    kinds: str,
    problems: list[Problem],
) -> SourceConfig | None:
    """``config[key]`` parsed by ``model``, or ``None`` with its problems appended."""
    path = f"{CONFIG_NAMESPACE}:{key}"
    try:
        return model.model_validate({"source": config[key]})
    except ValidationError as error:
        for detail in error.errors():
            where = ".".join([path, *(str(part) for part in detail["loc"][2:])])
            problems.append(Problem(where, f"{detail['msg']} (kinds: {kinds})"))
        return None


def _mapping(config: Mapping[str, Any], key: str, problems: list[Problem]) -> Mapping[str, Any]:
    value = config.get(key, {})
    if not isinstance(value, Mapping):
        problems.append(Problem(f"{CONFIG_NAMESPACE}:{key}", f"should be a mapping, got {value!r}"))
        return {}
    return value


def _addressed(
    target: str,
    items: Mapping[tuple[str, str], object],
    path: str,
    what: str,
    problems: list[Problem],
) -> tuple[str, str] | None:
    """The ``(namespace, name)`` key ``target`` addresses, as validation names items:
    ``namespace/name``, or a bare name when exactly one namespace has it."""
    namespace, slash, name = target.rpartition("/")
    if slash:
        key = (namespace, name)
        if key in items:
            return key
        candidates = sorted(f"{ns}/{n}" for ns, n in items)
    else:
        matches = sorted(k for k in items if k[1] == name)
        if len(matches) == 1:
            return matches[0]
        if matches:
            listed = ", ".join(f"{ns}/{n}" for ns, n in matches)
            problems.append(
                Problem(
                    path,
                    f"{name!r} is in {len(matches)} namespaces ({listed}); write namespace/name",
                )
            )
            return None
        candidates = sorted({n for _, n in items})
    close = difflib.get_close_matches(target, candidates, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    label = "no canary for" if what == "canary" else f"no {what}"
    plural = "canaries" if what == "canary" else f"{what}s"
    problems.append(
        Problem(path, f"{label} {target!r}; {hint}{plural}: {', '.join(candidates) or 'none'}")
    )
    return None


def _tag_target(
    target: str,
    workloads: Mapping[tuple[str, str], Workload],
    path: str,
    problems: list[Problem],
) -> tuple[tuple[str, str], str | None] | None:
    """``imageTags``' key: ``workload``, ``workload/version``, ``namespace/workload`` or
    ``namespace/workload/version`` → the workload's key and the version (``None``: all)."""
    parts = target.split("/")
    names = {name for _, name in workloads}
    if len(parts) == 3:
        workload, version = "/".join(parts[:2]), parts[2]
    elif len(parts) == 2 and parts[0] in names:
        workload, version = parts[0], parts[1]
    else:
        workload, version = target, None
    key = _addressed(workload, workloads, path, "workload", problems)
    if key is None:
        return None
    versions = [v.name for v in workloads[key].versions]
    if version is not None and version not in versions:
        problems.append(
            Problem(path, f"{key[1]!r} has no version {version!r}; versions: {', '.join(versions)}")
        )
        return None
    return key, version


def _retune(
    app: App,
    tags: Mapping[tuple[str, str, str | None], str],
    replicas: Mapping[tuple[str, str], int],
) -> App:
    def version(workload: Workload, v: Version) -> Version:
        key = (app.namespace, workload.name)
        tag = tags.get((*key, v.name), tags.get((*key, None)))
        return v.model_copy(update={"image": with_tag(v.image, tag)}) if tag and v.image else v

    workloads = tuple(
        w.model_copy(
            update={
                "versions": tuple(version(w, v) for v in w.versions),
                "replicas": replicas.get((app.namespace, w.name), w.replicas),
            }
        )
        for w in app.workloads
    )
    return app.model_copy(update={"workloads": workloads})

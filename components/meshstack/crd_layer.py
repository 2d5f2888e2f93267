"""What a CRD layer stack holds, and whether it is the one a mesh stack needs.

A mesh whose ``IstioInstall.crd_stack`` names another stack registers no CRD itself, so
before it registers anything it reads that stack's outputs and compares them with its own
spec: a CRD layer that is missing, belongs to another stack, or holds another release
would leave every Istio object of the ``up`` refused by the API server (or validated
against the wrong schema), half-applied. Pure, so the program and the tests share it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from meshstack.spec.mesh import MeshSpec
from meshstack.stack_config import CONFIG_NAMESPACE, SETTING_KEYS
from meshstack.validation.problems import Problem

OUTPUT = "crd_layer"
"""The stack output a CRD layer stack exports (:func:`crd_layer_outputs`)."""


def crd_layer_outputs(spec: MeshSpec) -> dict[str, object]:
    """What the CRD layer of ``spec`` holds, as its stack exports it."""
    install = spec.install
    uses_gateway_api = spec.installs_gateway_api_crds
    return {
        "of": spec.stack,
        "istio_version": install.version if install is not None else None,
        "gateway_api_version": spec.gateway_api.version if uses_gateway_api else None,
        "crd_descriptions": install.crd_descriptions if install is not None else True,
        # A mesh of several clusters: the layer holds the CRDs of each (None: one cluster).
        "clusters": [c.name for c in spec.multicluster.clusters] if spec.multicluster else None,
    }


def layer_config_problems(
    config: Mapping[str, object], of: str, cluster_keys: Collection[str] = ()
) -> list[Problem]:
    """A CRD layer stack's own config holds settings only (how it deploys: ``crdsOf``,
    ``renderDir``, ...): the spec it holds the CRDs of is read with ``of``'s config, the
    one ``pulumi up -s <of>`` reads, so the two stacks can never deploy different specs
    (an override here would be a second, disagreeing place for the same value). A mesh of
    several clusters adds ``cluster_keys``: the kubeconfigs the layer deploys with (secrets
    of this stack, which cannot read another stack's)."""
    allowed = (*SETTING_KEYS, *cluster_keys)
    return [
        Problem(
            f"{CONFIG_NAMESPACE}:{key}",
            f"a CRD layer stack takes its spec's config from Pulumi.{of}.yaml: set "
            f"{CONFIG_NAMESPACE}:{key} there; here only {', '.join(allowed)}",
        )
        for key in sorted(config)
        if key not in allowed
    ]


def holder_problems(spec: MeshSpec, holder: str) -> list[Problem]:
    """Why stack ``holder`` (whose config says ``meshstack:crdsOf: <spec.stack>``) may not
    hold ``spec``'s CRD layer: the spec must name it as its ``crd_stack``."""
    named = spec.install.crd_stack if spec.install is not None else None
    if named == holder:
        return []
    return [
        Problem(
            "meshstack:crdsOf",
            f"stack {spec.stack!r}'s spec says install.crd_stack={named!r}, not {holder!r}: "
            f"set IstioInstall(crd_stack={holder!r}) in stacks/{spec.stack}.py, or remove "
            f"meshstack:crdsOf from Pulumi.{holder}.yaml",
        )
    ]


def crd_layer_problems(
    spec: MeshSpec, outputs: Mapping[str, object] | None, unreadable: str = ""
) -> list[Problem]:
    """Why the CRD layer stack's outputs (``None``: they cannot be read, for the reason
    ``unreadable``) do not serve ``spec``, with what to run; empty when they do."""
    install = spec.install
    if install is None or install.crd_stack is None:
        return []
    stack = install.crd_stack
    path = "install.crd_stack"
    first_up = (
        f"create it with 'pulumi stack init {stack}', 'pulumi config set -s {stack} "
        f"meshstack:crdsOf {spec.stack}' and 'pulumi up -s {stack}', then run this stack's up"
    )
    if outputs is None:
        reason = f" ({unreadable})" if unreadable else ""
        return [Problem(path, f"stack {stack!r} cannot be read{reason}: {first_up}")]
    layer = outputs.get(OUTPUT)
    if not isinstance(layer, Mapping):
        return [
            Problem(
                path,
                f"stack {stack!r} exports no {OUTPUT!r}: it is not a CRD layer stack "
                f"(its config needs meshstack:crdsOf: {spec.stack}, then 'pulumi up -s {stack}')",
            )
        ]
    wanted = crd_layer_outputs(spec)
    problems: list[Problem] = []
    if layer.get("of") != spec.stack:
        problems.append(
            Problem(
                path,
                f"stack {stack!r} holds the CRD layer of {layer.get('of')!r}, not of "
                f"{spec.stack!r}: name this stack's own CRD stack, or set its "
                f"meshstack:crdsOf to {spec.stack}",
            )
        )
    mismatches = {
        "istio_version": "holds the CRDs of Istio {have!r}, this spec installs {want!r}",
        "gateway_api_version": "holds the Gateway API's CRDs of {have!r}, this spec uses {want!r}",
        "crd_descriptions": "holds CRDs with crd_descriptions={have!r}, this spec says {want!r}",
        "clusters": "holds the CRDs of clusters {have!r}, this spec's are {want!r}",
    }
    for key, mismatch in mismatches.items():
        if layer.get(key) != wanted[key]:
            said = mismatch.format(have=layer.get(key), want=wanted[key])
            problems.append(
                Problem(
                    path,
                    f"stack {stack!r} {said}: run 'pulumi up -s {stack}' first (it reads the "
                    "same spec), then this stack's up",
                )
            )
    return problems

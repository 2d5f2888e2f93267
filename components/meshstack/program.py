"""The Pulumi program, shipped in the package: a project's ``__main__.py`` is two lines.

    from meshstack.program import run
    run()

It loads the stack's typed spec from ``stacks/<stack>.py``, applies the stack's config
(overrides and settings, ``stack_config.py``), refuses every problem before any resource
is registered, and deploys the spec with :class:`~meshstack.components.MeshStack`. A
production stack (``meshstack:production: true``) gets its namespaces protected. A stack
whose config says ``meshstack:crdsOf: <stack>`` holds that stack's CRD layer instead
(:class:`~meshstack.components.crd_layer.MeshCrdLayer`), and that stack checks it first.
:func:`deploy` is the same for a spec given another way (the component provider that
Pulumi YAML programs use).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
from pulumi.runtime.config import is_config_secret

from meshstack.chart_files import unreachable_source_problems
from meshstack.components import MeshStack, MeshStackArgs
from meshstack.components.crd_layer import CrdLayerArgs, MeshCrdLayer
from meshstack.components.multicluster import MultiClusterMesh, MultiClusterMeshArgs
from meshstack.components.stack import skip_await
from meshstack.crd_layer import (
    OUTPUT,
    crd_layer_outputs,
    crd_layer_problems,
    holder_problems,
    layer_config_problems,
)
from meshstack.multicluster import (
    api_server_of,
    ca_files_of,
    cluster_config_problems,
    cluster_views,
)
from meshstack.overrides import KNOWN_KEYS
from meshstack.runtime import tune_garbage_collector
from meshstack.spec.mesh import MeshSpec
from meshstack.stack_config import (
    CONFIG_NAMESPACE,
    StackSettings,
    config_value,
    read_settings,
)
from meshstack.stacks import StackLoadError, StackNotFound, configured, resolve_stack
from meshstack.validation import SpecInvalid


def _engine_fetches_charts() -> bool:
    """Whether a real engine (and so the Kubernetes provider) runs the program. Under the
    SDK's mock engine (tests, the policy pack's recordings) no chart is ever fetched, so
    there is nothing to reach."""
    from pulumi.runtime.mocks import MockMonitor
    from pulumi.runtime.settings import get_monitor

    return not isinstance(get_monitor(), MockMonitor)


def config_values() -> dict[str, object]:
    """This stack's ``meshstack:*`` config as the program receives it (Pulumi's text,
    read back by :func:`~meshstack.stack_config.config_value`)."""
    config = pulumi.Config(CONFIG_NAMESPACE)
    return {
        key: value for key in KNOWN_KEYS if (value := config_value(config.get(key))) is not None
    }


def resolved(stack: str, project: Path) -> MeshSpec:
    """``stacks/<stack>.py`` with this stack's config applied; every problem raised at
    once as a :class:`pulumi.RunError` (the engine shows it without a traceback)."""
    try:
        spec, problems = resolve_stack(stack, project, config_values())
    except (StackNotFound, StackLoadError) as error:
        raise pulumi.RunError(str(error)) from None
    if problems:
        raise pulumi.RunError(str(SpecInvalid(stack, problems)))
    return spec


def with_config(spec: MeshSpec, project: Path) -> MeshSpec:
    """A spec built elsewhere (not from a stack file) with this stack's config applied."""
    spec, problems = configured(spec, config_values(), project)
    if problems:
        raise pulumi.RunError(str(SpecInvalid(spec.stack, problems)))
    return spec


def deploy(
    spec: MeshSpec,
    project: Path,
    *,
    name: str = "mesh",
    opts: pulumi.ResourceOptions | None = None,
) -> MeshStack:
    """Register ``spec`` (already resolved and valid) as one :class:`MeshStack`."""
    _check_sources_and_crd_layer(spec)
    settings, _ = read_settings(config_values())
    provider = _provider(settings)
    return MeshStack(
        name,
        MeshStackArgs(
            spec=spec,
            protect_namespaces=settings.production,
            provider=provider,
            base_dir=project,
            # A `pulumi config set --secret` value, or None: then the component makes one.
            grafana_admin_password=pulumi.Config(CONFIG_NAMESPACE).get_secret(
                "grafanaAdminPassword"
            ),
            skip_await=settings.skip_await,
        ),
        opts,
    )


def _check_sources_and_crd_layer(spec: MeshSpec) -> None:
    """Before anything is registered (when the engine, not a test, runs the program): every
    chart and manifest source reachable, and the CRD layer stack, if the spec names one,
    holding the CRDs this spec needs."""
    if not _engine_fetches_charts():
        return
    unreachable = unreachable_source_problems(spec)
    if unreachable:
        raise pulumi.RunError(str(SpecInvalid(spec.stack, unreachable)))
    if spec.install is not None and spec.install.crd_stack is not None:
        outputs, unreadable = read_stack_outputs(spec.install.crd_stack)
        problems = crd_layer_problems(spec, outputs, unreadable)
        if problems:
            raise pulumi.RunError(str(SpecInvalid(spec.stack, problems)))


def cluster_providers(
    spec: MeshSpec, settings: StackSettings
) -> dict[str, pulumi.ProviderResource | None]:
    """A Kubernetes provider per cluster of a multi-cluster ``spec``: from the kubeconfig
    its config key holds (a secret) and its context, or, rendering, a directory per
    cluster under the render directory."""
    assert spec.multicluster is not None
    config = pulumi.Config(CONFIG_NAMESPACE)
    providers: dict[str, pulumi.ProviderResource | None] = {}
    for c in spec.multicluster.clusters:
        if settings.render_dir:
            providers[c.name] = k8s.Provider(
                f"render-{c.name}",
                render_yaml_to_directory=str(Path(settings.render_dir) / c.name),
            )
        else:
            kubeconfig = config.get_secret(c.kubeconfig) if c.kubeconfig else None
            providers[c.name] = k8s.Provider(
                f"cluster-{c.name}", kubeconfig=kubeconfig, context=c.context
            )
    return providers


def deploy_clusters(spec: MeshSpec, project: Path, settings: StackSettings) -> MultiClusterMesh:
    """Register a multi-cluster ``spec`` (resolved and valid): a provider per cluster from
    the kubeconfig its config key holds (or, rendering, a directory per cluster), the
    plug-in CA's files from config (the keys must be secrets), one MultiClusterMesh."""
    assert spec.multicluster is not None
    mc = spec.multicluster
    config = pulumi.Config(CONFIG_NAMESPACE)
    problems = cluster_config_problems(
        mc,
        set_keys={k for k in mc.config_keys if config.get(k) is not None},
        secret_keys={k for k in mc.config_keys if is_config_secret(f"{CONFIG_NAMESPACE}:{k}")},
        rendering=bool(settings.render_dir),
    )
    if problems:
        raise pulumi.RunError(str(SpecInvalid(spec.stack, problems)))
    _check_sources_and_crd_layer(spec)
    providers = cluster_providers(spec, settings)
    servers: dict[str, pulumi.Input[str]] = {}
    ca_files: dict[str, pulumi.Input[Mapping[str, str]]] = {}
    for c in mc.clusters:
        kubeconfig = config.get_secret(c.kubeconfig) if c.kubeconfig else None
        servers[c.name] = (
            kubeconfig.apply(functools.partial(api_server_of, context=c.context))
            if kubeconfig is not None
            else ""
        )
        if mc.plugin_ca is not None and c.ca_cert and c.ca_key:
            ca_files[c.name] = pulumi.Output.all(
                config.require(mc.plugin_ca.root_cert),
                config.require(c.ca_cert),
                config.require_secret(c.ca_key),
            ).apply(lambda got: ca_files_of(root=got[0], cert=got[1], key=got[2]))
    return MultiClusterMesh(
        "mesh",
        MultiClusterMeshArgs(
            spec=spec,
            providers=providers,
            servers=servers,
            ca_files=ca_files,
            base_dir=project,
            protect_namespaces=settings.production,
            skip_await=settings.skip_await,
            grafana_admin_password=config.get_secret("grafanaAdminPassword"),
        ),
    )


def _provider(settings: StackSettings) -> k8s.Provider | None:
    """The render-mode provider when the stack renders to a directory, else the default."""
    if not settings.render_dir:
        return None
    return k8s.Provider("render", render_yaml_to_directory=settings.render_dir)


def read_stack_outputs(stack: str) -> tuple[dict[str, object] | None, str]:
    """Another stack's outputs, read by the engine before anything is registered (the
    invoke a ``StackReference`` makes, synchronously); ``None`` and the engine's reason
    when it cannot be read."""
    try:
        result = pulumi.runtime.invoke("pulumi:pulumi:readStackOutputs", {"name": stack})
    except Exception as error:  # the engine's own error, whatever its kind, is the reason
        return None, str(error).strip()
    outputs = result.value.get("outputs") if result.value else None
    if isinstance(outputs, dict) and outputs:
        return dict(outputs), ""
    return None, "it has no outputs"


def deploy_crd_layer(
    of: str, project: Path, settings: StackSettings
) -> MeshCrdLayer | list[MeshCrdLayer]:
    """This stack holds the CRD layer of stack ``of``: ``of``'s spec with ``of``'s config
    (``Pulumi.<of>.yaml``, as ``pulumi up -s <of>`` reads it); this stack's own config
    says only how the layer deploys (and, for several clusters, how it reaches each)."""
    here = pulumi.get_stack()
    mixed = layer_config_problems(config_values(), of)
    if mixed:
        raise pulumi.RunError(str(SpecInvalid(here, mixed)))
    try:
        spec, problems = resolve_stack(of, project)
    except (StackNotFound, StackLoadError) as error:
        raise pulumi.RunError(str(error)) from None
    if problems:
        raise pulumi.RunError(str(SpecInvalid(of, problems)))
    holding = holder_problems(spec, here)
    if holding:
        raise pulumi.RunError(str(SpecInvalid(here, holding)))
    if _engine_fetches_charts():
        unreachable = unreachable_source_problems(spec)
        if unreachable:
            raise pulumi.RunError(str(SpecInvalid(spec.stack, unreachable)))
    opts = pulumi.ResourceOptions(transforms=[skip_await]) if settings.skip_await else None
    if spec.multicluster is not None:
        return _deploy_cluster_crd_layers(spec, here, project, settings, opts)
    layer = MeshCrdLayer("crds", CrdLayerArgs(spec, _provider(settings), project), opts)
    pulumi.export(OUTPUT, layer.outputs)
    pulumi.export("render_dir", settings.render_dir or None)
    return layer


def _deploy_cluster_crd_layers(
    spec: MeshSpec,
    here: str,
    project: Path,
    settings: StackSettings,
    opts: pulumi.ResourceOptions | None,
) -> list[MeshCrdLayer]:
    """The CRD layer of a mesh of several clusters: ``crds-<cluster>`` in each, from the
    cluster's view (its own base chart values) on a provider from this stack's kubeconfig
    config keys (secrets, like the mesh stack's; the same names)."""
    assert spec.multicluster is not None
    mc = spec.multicluster
    config = pulumi.Config(CONFIG_NAMESPACE)
    keys = set(mc.kubeconfig_keys)
    problems = cluster_config_problems(
        mc,
        set_keys={k for k in keys if config.get(k) is not None},
        secret_keys={k for k in keys if is_config_secret(f"{CONFIG_NAMESPACE}:{k}")},
        rendering=bool(settings.render_dir),
        with_ca=False,
    )
    if problems:
        raise pulumi.RunError(str(SpecInvalid(here, problems)))
    providers = cluster_providers(spec, settings)
    layers = [
        MeshCrdLayer(f"crds-{name}", CrdLayerArgs(view, providers[name], project), opts)
        for name, view in cluster_views(spec).items()
    ]
    pulumi.export(OUTPUT, crd_layer_outputs(spec))
    pulumi.export("render_dir", settings.render_dir or None)
    return layers


def run(
    project_dir: Path | None = None,
) -> MeshStack | MeshCrdLayer | list[MeshCrdLayer] | MultiClusterMesh:
    """Deploy this stack's spec, or the CRD layer of the stack ``meshstack:crdsOf`` names;
    ``project_dir`` holds ``stacks/`` (default: the directory Pulumi runs the program in,
    which is the project's)."""
    tune_garbage_collector()
    project = (project_dir or Path.cwd()).resolve()
    settings, _ = read_settings(config_values())
    if settings.crds_of:
        return deploy_crd_layer(settings.crds_of, project, settings)
    spec = resolved(pulumi.get_stack(), project)
    if spec.multicluster is not None:
        joined = deploy_clusters(spec, project, settings)
        pulumi.export("clusters", sorted(joined.meshes))
        pulumi.export("namespaces", sorted({n.name for n in spec.namespaces}))
        pulumi.export("istio_version", spec.install.version if spec.install else None)
        pulumi.export("render_dir", settings.render_dir or None)
        return joined
    mesh = deploy(spec, project)
    pulumi.export("namespaces", sorted(mesh.namespaces.by_name))
    pulumi.export("istio_version", spec.install.version if spec.install else None)
    pulumi.export("addons", list(spec.addons.enabled))
    if mesh.addons is not None and mesh.addons.grafana_admin_password is not None:
        pulumi.export("grafana_admin_password", mesh.addons.grafana_admin_password)  # a secret
    pulumi.export("render_dir", settings.render_dir or None)
    return mesh

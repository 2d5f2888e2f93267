"""Register a planned :class:`~meshstack.render.charts.HelmRelease` as a helm v4 ``Chart``.

Why v4 ``Chart`` and not v3 ``Release``: ``Chart`` renders the templates and hands
every object to Pulumi, so ``pulumi preview --diff`` shows each Kubernetes object
and the provider's render mode (``renderYamlToDirectory``, how ``make demo`` and the
e2e tests run without a cluster) writes them out; ``Release`` delegates to Helm's
own release machinery, which needs a live cluster and does not support render mode
(pulumi-kubernetes issue 1716). ``Chart`` also reads OCI references and local
directories, the chart sources air-gapped clusters use.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_kubernetes as k8s

from meshstack.k8s import strip_descriptions
from meshstack.render.charts import HelmRelease


def register_release(
    component: str,
    release: HelmRelease,
    *,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource],
    provider: pulumi.ProviderResource | None,
    crd_descriptions: bool = True,
) -> k8s.helm.v4.Chart:
    """``<component>-<release>``: one Chart per release, protected when the release says so;
    without ``crd_descriptions`` its CRDs lose their schemas' prose (a transform on this
    chart's objects only, so no other resource pays a callback for it)."""
    transforms: list[pulumi.ResourceTransform] = []
    if not release.keep_on_destroy:
        transforms.append(delete_with_stack)
    if not crd_descriptions:
        transforms.append(without_crd_descriptions)
    repository = (
        k8s.helm.v4.RepositoryOptsArgs(repo=release.chart.repository)
        if release.chart.repository
        else None
    )
    return k8s.helm.v4.Chart(
        f"{component}-{release.name}",
        k8s.helm.v4.ChartArgs(
            chart=release.chart.chart,
            version=release.chart.version,
            repository_opts=repository,
            name=release.name,
            namespace=release.namespace,
            values=release.values,
        ),
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=list(depends_on),
            protect=release.protect,
            providers=[provider] if provider is not None else None,
            transforms=transforms or None,
        ),
    )


def delete_with_stack(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult:
    """Undo ``retainOnDelete``, which the provider sets for every chart object marked
    ``helm.sh/resource-policy: keep``: the object is deleted with the stack."""
    opts = pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(retain_on_delete=False))
    return pulumi.ResourceTransformResult(props=args.props, opts=opts)


CRD_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"


def without_crd_descriptions(
    args: pulumi.ResourceTransformArgs,
) -> pulumi.ResourceTransformResult | None:
    """Drop the ``description`` prose of a CRD's schemas (``IstioInstall.crd_descriptions``);
    every other resource passes unchanged."""
    if args.type_ != CRD_TYPE:
        return None
    props = dict(args.props)
    props["spec"] = pulumi.Output.from_input(props.get("spec") or {}).apply(strip_descriptions)
    return pulumi.ResourceTransformResult(props=props, opts=args.opts)

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

from meshstack.render.charts import HelmRelease


def register_release(
    component: str,
    release: HelmRelease,
    *,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource],
    provider: pulumi.ProviderResource | None,
) -> k8s.helm.v4.Chart:
    """``<component>-<release>``: one Chart per release, protected when the release says so."""
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
            transforms=None if release.keep_on_destroy else [delete_with_stack],
        ),
    )


def delete_with_stack(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult:
    """Undo ``retainOnDelete``, which the provider sets for every chart object marked
    ``helm.sh/resource-policy: keep``: the object is deleted with the stack."""
    opts = pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(retain_on_delete=False))
    return pulumi.ResourceTransformResult(props=args.props, opts=opts)

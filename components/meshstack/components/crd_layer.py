"""The CRD layer of a mesh, in a stack of its own (``IstioInstall.crd_stack``).

Istio's and the Gateway API's CRDs are most of a mesh's state (dev: 1.5 MB of 3.4 MB) and
the first thing its ``up`` registers, so they are in nearly every one of the state saves
the engine makes after each step. They change once per release. Held by their own stack,
they are saved a few dozen times per release instead of a few hundred times per ``up``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi

from meshstack.components.gateway_api import GatewayApiCrdInstall, install_gateway_api_crds
from meshstack.components.helm import register_release
from meshstack.crd_layer import crd_layer_outputs
from meshstack.render.install import crd_layer_release
from meshstack.spec.mesh import MeshSpec


@dataclass(frozen=True)
class CrdLayerArgs:
    """``spec``: the mesh stack's spec (the CRD layer follows its Istio release, its
    Gateway API version and its ``crd_descriptions``). ``base_dir``: where relative local
    chart and manifest paths start."""

    spec: MeshSpec
    provider: pulumi.ProviderResource | None = None
    base_dir: Path | None = None


class MeshCrdLayer(pulumi.ComponentResource):
    """``<name>-istio-base`` (the base chart's cluster-scoped objects: Istio's CRDs and the
    default revision's validator) and ``<name>-gateway-api`` (when the mesh uses that API).

    :attr:`outputs` is what the mesh stack checks before it registers anything: which
    stack this layer belongs to and which releases it holds."""

    istio: pulumi.Resource
    gateway_api: GatewayApiCrdInstall | None
    outputs: dict[str, object]

    def __init__(
        self, name: str, args: CrdLayerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        install = args.spec.install
        if install is None or install.crd_stack is None:
            raise ValueError("a CRD layer belongs to a spec whose install names a crd_stack")
        super().__init__("meshstack:index:MeshCrdLayer", name, None, opts)
        self.istio = register_release(
            name,
            crd_layer_release(install),
            parent=self,
            depends_on=[],
            provider=args.provider,
            crd_descriptions=install.crd_descriptions,
        )
        self.gateway_api = install_gateway_api_crds(
            f"{name}-gateway-api", args.spec, args.provider, args.base_dir, parent=self
        )
        self.outputs = crd_layer_outputs(args.spec)
        self.register_outputs(self.outputs)

"""One mesh over several clusters from one program: a MeshStack per cluster, joined.

Each cluster gets its own :class:`~meshstack.components.MeshStack` on its own provider,
deployed from its view of the spec (istiod's membership values, its network's east-west
gateway and expose Gateway, the workloads placed there) with the ``cacerts`` of the shared
root. Then the clusters are joined the way ``istioctl create-remote-secret`` does, but as
resources with explicit order: in each cluster that another's istiod reads (every cluster
in multi-primary, the remotes in primary-remote), a token Secret for the reader account
the base chart made (after that chart, so the token controller fills it); in each
cluster whose istiod reads it, a remote secret holding a kubeconfig with that token.
Tokens and keys stay Pulumi secrets throughout.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from meshstack.components.registry import register_object
from meshstack.components.stack import MeshStack, MeshStackArgs
from meshstack.k8s import WAIT_FOR, K8sObject
from meshstack.multicluster import READER_ACCOUNT, cluster_views, remote_secret
from meshstack.spec.mesh import MeshSpec
from meshstack.validation import check

READER_TOKEN = f"{READER_ACCOUNT}-token"
"""The token Secret each cluster gets for its reader account (the name istioctl uses)."""


def reader_token_object(namespace: str) -> K8sObject:
    """A long-lived token for the reader account, which Kubernetes' token controller
    fills in (``data.token``, ``data.ca.crt``); the provider waits until it has."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": READER_TOKEN,
            "namespace": namespace,
            "annotations": {
                "kubernetes.io/service-account.name": READER_ACCOUNT,
                WAIT_FOR: "jsonpath={.data.token}",
            },
        },
        "type": "kubernetes.io/service-account-token",
        "data": None,
    }


@dataclass(frozen=True)
class MultiClusterMeshArgs:
    spec: MeshSpec
    providers: Mapping[str, pulumi.ProviderResource | None]
    """Each cluster's Kubernetes provider, by cluster name."""
    servers: Mapping[str, pulumi.Input[str]]
    """The API server address of each cluster as the other clusters' istiod reach it."""
    ca_files: Mapping[str, pulumi.Input[Mapping[str, str]]] = field(default_factory=dict)
    """Each cluster's ``cacerts`` files (``meshstack.multicluster.CACERTS_KEYS``)."""
    base_dir: Path | None = None
    protect_namespaces: bool = False
    skip_await: bool = False
    grafana_admin_password: pulumi.Input[str] | None = None


class MultiClusterMesh(pulumi.ComponentResource):
    """``<name>-<cluster>`` per cluster (a MeshStack), then the reader tokens and remote
    secrets (``meshes``, ``reader_tokens``, ``remote_secrets`` by (reader, read))."""

    meshes: dict[str, MeshStack]
    reader_tokens: dict[str, pulumi.CustomResource]
    remote_secrets: dict[tuple[str, str], pulumi.CustomResource]

    def __init__(
        self, name: str, args: MultiClusterMeshArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        spec = check(args.spec)
        super().__init__("meshstack:index:MultiClusterMesh", name, None, opts)
        views = cluster_views(spec)
        self.meshes, self.reader_tokens, self.remote_secrets = {}, {}, {}
        for cluster, view in views.items():
            self.meshes[cluster] = MeshStack(
                f"{name}-{cluster}",
                MeshStackArgs(
                    spec=view,
                    provider=args.providers.get(cluster),
                    base_dir=args.base_dir,
                    protect_namespaces=args.protect_namespaces,
                    skip_await=args.skip_await,
                    grafana_admin_password=args.grafana_admin_password,
                    ca_files=args.ca_files.get(cluster),
                ),
                pulumi.ResourceOptions(parent=self),
            )
        namespace = spec.install.namespace if spec.install is not None else spec.root_namespace
        mc = spec.multicluster
        assert mc is not None
        read_by_others = {r for reader in self.meshes for r in mc.reads(reader)}
        for cluster, mesh in self.meshes.items():
            if cluster not in read_by_others:
                continue
            base = mesh.install.crds if mesh.install is not None else []
            self.reader_tokens[cluster] = register_object(
                f"{name}-{cluster}",
                reader_token_object(namespace),
                parent=mesh,
                depends_on=base,
                provider=args.providers.get(cluster),
                secret_outputs=("data",),
            )
        for reader, mesh in self.meshes.items():
            for read in mc.reads(reader):
                token_secret = self.reader_tokens[read]
                # The token Secret's data is a secret output: what is built from it is too.
                data: pulumi.Output[Any] = token_secret.data  # type: ignore[attr-defined]
                body: pulumi.Output[dict[str, str]] = pulumi.Output.all(
                    data, pulumi.Output.secret(args.servers[read])
                ).apply(_kubeconfig_of(spec, read))
                # Its identity is known now (its URN waits on no token); its kubeconfig
                # once the token is, and only as a secret.
                secret = {
                    **remote_secret(spec, of=read, server="", token=""),
                    "stringData": body,
                }
                self.remote_secrets[(reader, read)] = register_object(
                    f"{name}-{reader}",
                    secret,
                    parent=mesh,
                    depends_on=[token_secret, *([mesh.install] if mesh.install else [])],
                    provider=args.providers.get(reader),
                    secret_outputs=("stringData", "data"),
                )
        self.register_outputs({"clusters": sorted(self.meshes)})


def _kubeconfig_of(spec: MeshSpec, read: str) -> Callable[[list[Any]], dict[str, str]]:
    """What turns (the token Secret's data, the API server's address) into the remote
    secret's ``stringData`` for cluster ``read``."""

    def build(got: list[Any]) -> dict[str, str]:
        found: dict[str, str] = remote_secret(
            spec, of=read, server=str(got[1]), **_token_and_ca(got[0])
        )["stringData"]
        return found

    return build


def _token_and_ca(data: Mapping[str, str] | None) -> dict[str, str]:
    """The reader token and the cluster's CA (base64, as a kubeconfig takes it) from the
    token Secret's ``data``; empty where nothing filled it (render mode applies nothing)."""
    data = data or {}
    token = base64.b64decode(data.get("token", "")).decode()
    return {"token": token, "ca_data": data.get("ca.crt", "")}

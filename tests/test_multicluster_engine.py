"""One ``pulumi up`` of each multi-cluster stack to two real API servers.

Two etcd + kube-apiserver pairs on 127.0.0.1 (each with kube-controller-manager's token
controller, which fills the reader accounts' token Secrets), one stack with a kubeconfig
and an intermediate CA per cluster in its config (secrets), a shared root made here with
openssl. After the up: every object each cluster's view defines is on that cluster's
server as sent; each cluster holds ``cacerts`` chaining its own intermediate to the one
root, which Istio's own CA loads as istiod would, its workload certificates trusted by the
other cluster's root; each holds a remote secret for the other whose kubeconfig really
reads the other server as its reader account (no istioctl step); no key or token is in
the state in plaintext; istioctl analyze finds nothing in either cluster's objects; and
Istio's control plane, fed what the two servers hold (the charts' east-west gateways
included), routes west's requests for ratings through east's east-west gateway and keeps
west's reviews traffic in west until it fails over. The
primary-remote stack (``multi_remote``) the same way, where west is a remote: no istiod,
no CA and no remote secret there, an ``istiod`` Service at east's discovery address and a
webhook naming west's cluster and network; east alone reads west; and west's sidecars,
judged as east's istiod configures them, route as before.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cluster import ApiServer, start
from cluster_config import plugin_ca, set_cluster_config
from engine_stack import EngineStack, new_crd_layer, new_stack, require_toolchain
from istioctl import analyze, unjustified
from meshstack.istio_judge import (
    ClusterCA,
    ClusterObjects,
    ask_clusters,
    ask_trust,
    gateway_stand_ins,
)
from meshstack.multicluster import CACERTS, cluster_views, render_clusters
from meshstack.spec import MeshSpec
from meshstack.stacks import resolve_stack
from test_engine_cluster import CLUSTER_CONFIG, key_of, stored_as_sent, stored_objects
from test_multicluster_judge import by_priority, endpoints, gateway_of

pytestmark = [pytest.mark.engine, pytest.mark.cluster]

CLUSTERS = ("east", "west")


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[dict[str, ApiServer]]:
    require_toolchain("etcd", "kube-apiserver", "kube-controller-manager")
    started: dict[str, ApiServer] = {}
    try:
        for name in CLUSTERS:
            started[name] = start(tmp_path / f"apiserver-{name}", token_controller=True)
        yield started
    finally:
        for server in started.values():
            server.stop()


def staged(
    tmp_path: Path, servers: dict[str, ApiServer], ca: dict[str, str], name: str = "multi"
) -> EngineStack:
    """The stack with each cluster's kubeconfig in its config, and the CA files of each
    cluster that runs istiod (a remote has none). A stack whose CRDs live in a layer stack
    (multi: multi-crds, multi_remote: multi_remote-crds) has that stack up first, with the same kubeconfigs as its secrets."""
    stack = new_stack(tmp_path, name, render=False, config=CLUSTER_CONFIG, with_crd_layer=False)
    spec, _ = resolve_stack(name, stack.project)
    kubeconfigs = {c: server.kubeconfig.read_text() for c, server in servers.items()}
    set_cluster_config(stack, spec, ca, kubeconfigs)
    layer = new_crd_layer(stack)
    if layer is not None:
        assert spec.multicluster is not None
        for c in spec.multicluster.clusters:
            assert c.kubeconfig is not None
            layer.set_config(f"meshstack:{c.kubeconfig}", kubeconfigs[c.name], secret=True)
        layer.up()
    return stack


def secret_data(server: ApiServer, namespace: str, name: str) -> dict[str, str]:
    got = json.loads(server.kubectl("get", "secret", "-n", namespace, name, "-o", "json").stdout)
    return {k: base64.b64decode(v).decode() for k, v in (got.get("data") or {}).items()}


@pytest.mark.parametrize("stack_name", ["multi", "multi_remote"])
def test_one_up_joins_two_clusters_with_one_root_and_remote_secrets(
    tmp_path: Path, servers: dict[str, ApiServer], stack_name: str
) -> None:
    ca = plugin_ca(tmp_path / "ca", CLUSTERS)
    stack = staged(tmp_path, servers, ca, stack_name)
    stack.up()
    spec, problems = resolve_stack(stack_name, stack.project)
    assert problems == [] and spec.multicluster is not None
    mc = spec.multicluster
    rendered = render_clusters(spec)

    assert spec.install is not None and spec.install.crd_stack is not None
    assert stack.crd_layer is not None
    # The CRDs are the layer's, in both clusters; the mesh stack's own state holds none.
    crd = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"
    assert crd not in stack.resource_types()
    layer_urns = [r["urn"] for r in stack.crd_layer.export()["deployment"]["resources"]
                  if r["type"] == crd]  # fmt: skip
    for name, server in servers.items():
        assert any(f"crds-{name}" in urn for urn in layer_urns), name
        found = server.kubectl("get", "crd", "virtualservices.networking.istio.io")
        assert found.returncode == 0, name
    held: dict[str, list[dict[str, Any]]] = {}
    views = cluster_views(spec)
    authorities: list[ClusterCA] = []
    for name, server in servers.items():
        stored = stored_objects(server, rendered[name])
        for obj in rendered[name]:
            found = stored.get(key_of(obj))
            assert found is not None, f"{name}: {key_of(obj)} is not on the server"
            assert stored_as_sent(obj, found) == [], (name, key_of(obj))
        held[name] = [stored[key_of(o)] for o in rendered[name]]
        # Placement: ratings' pods run in east only; its Service is in both.
        deployments = server.kubectl("get", "deployments", "-n", "bookinfo", "-o", "name").stdout
        assert ("ratings-v1" in deployments) == (name == "east")
        assert "reviews-v1" in deployments and "productpage-v1" in deployments

        if mc.is_remote(name):
            _is_served_by_its_primary(server, spec, name)
            continue
        istiod = json.loads(
            server.kubectl("get", "deployment", "-n", "istio-system", "istiod", "-o", "json").stdout
        )
        env = {
            e["name"]: e.get("value")
            for e in istiod["spec"]["template"]["spec"]["containers"][0]["env"]
        }
        # A primary with remotes also serves as their control plane (the chart's env).
        assert env.get("EXTERNAL_ISTIOD") == ("true" if stack_name == "multi_remote" else None)
        cacerts = secret_data(server, "istio-system", CACERTS)
        assert cacerts["root-cert.pem"] == ca["root-cert.pem"]
        assert cacerts["ca-cert.pem"] == ca[f"{name}-cert.pem"]
        assert cacerts["cert-chain.pem"].startswith(ca[f"{name}-cert.pem"].rstrip("\n"))
        assert cacerts["cert-chain.pem"].rstrip("\n").endswith(ca["root-cert.pem"].rstrip("\n"))
        authorities.append(ClusterCA(name, cacerts, views[name].trust_domain))

    # Istio's own CA, from the cacerts the servers hold: each istiod accepts its own, and
    # a workload certificate either signs is trusted by every cluster's root.
    trust = ask_trust(authorities)
    assert trust.refused == {}
    assert trust.reasons == {(a.cluster, b.cluster): None for a in authorities for b in authorities}

    pairs = [(reader, read) for reader in CLUSTERS for read in mc.reads(reader)]
    assert pairs == (
        [("east", "west"), ("west", "east")] if stack_name == "multi" else [("east", "west")]
    )
    for reader in CLUSTERS:
        secrets = servers[reader].kubectl(
            "get", "secrets", "-n", "istio-system", "-l", "istio/multiCluster=true", "-o", "name"
        )
        assert sorted(secrets.stdout.split()) == [
            f"secret/istio-remote-secret-{read}" for read in mc.reads(reader)
        ], reader
    for reader, read in pairs:
        got = json.loads(
            servers[reader]
            .kubectl("get", "secret", "-n", "istio-system", f"istio-remote-secret-{read}",
                     "-o", "json").stdout
        )  # fmt: skip
        meta = got["metadata"]
        assert meta["labels"]["istio/multiCluster"] == "true"
        assert meta["annotations"]["networking.istio.io/cluster"] == read
        kubeconfig = base64.b64decode(got["data"][read]).decode()
        document = yaml.safe_load(kubeconfig)
        assert document["clusters"][0]["cluster"]["server"] == servers[read].url
        token = secret_data(servers[read], "istio-system", "istio-reader-service-account-token")
        assert document["users"][0]["user"]["token"] == token["token"]
        # The kubeconfig works: it reads the other cluster as its reader account.
        path = tmp_path / f"remote-{reader}-{read}.yaml"
        path.write_text(kubeconfig)
        who = subprocess.run(
            ["kubectl", f"--kubeconfig={path}", "auth", "whoami", "-o", "json"],
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        username = json.loads(who.stdout)["status"]["userInfo"]["username"]
        assert username == "system:serviceaccount:istio-system:istio-reader-service-account"
        listed = subprocess.run(
            ["kubectl", f"--kubeconfig={path}", "get", "services", "-n", "bookinfo", "-o", "name"],
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        assert "service/ratings" in listed.stdout

    state = json.dumps(stack.export())
    for name in CLUSTERS:
        assert ca[f"{name}-key.pem"].splitlines()[1] not in state, "a CA key in plaintext"
    for _, read in pairs:
        token = secret_data(servers[read], "istio-system", "istio-reader-service-account-token")
        assert token["token"] not in state, "a reader token in plaintext"

    for name in CLUSTERS:
        directory = tmp_path / f"analyze-{name}"
        directory.mkdir()
        (directory / "objects.yaml").write_text(yaml.safe_dump_all(held[name]))
        assert unjustified(analyze(directory)) == [], name

    _judged_from_the_servers(spec, servers, held)
    stack.up("--expect-no-changes")
    stack.destroy()
    assert stack.resource_types() == []
    if stack.crd_layer is not None:
        assert stack.crd_layer.resource_types() == []


def _is_served_by_its_primary(server: ApiServer, spec: MeshSpec, name: str) -> None:
    """What the remote profile left on a remote's server: no istiod and no CA of its own;
    an ``istiod`` Service whose endpoints are the primary's discovery address, and the
    injection webhook calling it with the remote's cluster and network in its path."""
    assert spec.multicluster is not None
    cluster = spec.multicluster.cluster(name)
    assert cluster is not None
    deployments = server.kubectl("get", "deployments", "-n", "istio-system", "-o", "name")
    assert "deployment.apps/istiod" not in deployments.stdout.split()
    secrets = server.kubectl("get", "secrets", "-n", "istio-system", "-o", "name").stdout
    assert f"secret/{CACERTS}" not in secrets.split()
    slices = json.loads(
        server.kubectl("get", "endpointslices", "-n", "istio-system", "-o", "json").stdout
    )["items"]
    addresses = {
        a
        for s in slices
        if s["metadata"].get("labels", {}).get("kubernetes.io/service-name") == "istiod"
        for e in s.get("endpoints") or []
        for a in e["addresses"]
    }
    assert addresses == {spec.multicluster.discovery_address_of(name)}, slices
    hooks = json.loads(server.kubectl("get", "mutatingwebhookconfigurations", "-o", "json").stdout)[
        "items"
    ]
    paths = {
        w["clientConfig"]["service"]["path"]
        for h in hooks
        for w in h.get("webhooks") or []
        if "service" in w["clientConfig"]
    }
    assert f"/inject/cluster/{name}/net/{cluster.network}" in paths, paths


def _judged_from_the_servers(
    spec: MeshSpec, servers: dict[str, ApiServer], held: dict[str, list[dict[str, Any]]]
) -> None:
    """Istio's control plane, given each cluster's objects as its server holds them (the
    remote secret the program made included)."""
    assert spec.multicluster is not None
    views = cluster_views(spec)
    clusters = []
    for c in spec.multicluster.clusters:
        remote = json.loads(
            servers[c.name]
            .kubectl("get", "secrets", "-n", "istio-system", "-l", "istio/multiCluster=true",
                     "-o", "json").stdout
        )["items"]  # fmt: skip
        # What the charts made in Istio's namespace (istiod, the east-west gateway's
        # Service and Deployment, labelled by the gateway chart itself from networkGateway).
        charts = json.loads(
            servers[c.name]
            .kubectl("get", "services,deployments", "-n", "istio-system", "-o", "json").stdout
        )["items"]  # fmt: skip
        east_west = next(
            o for o in charts if o["kind"] == "Service" and "eastwest" in o["metadata"]["name"]
        )
        assert east_west["metadata"]["labels"]["topology.istio.io/network"] == c.network
        assert east_west["spec"]["type"] == "LoadBalancer"
        # A primary with remotes asks for the address they were told (the chart's value).
        asked = c.discovery_address if spec.multicluster.serves_remotes(c.name) else None
        assert east_west["spec"].get("loadBalancerIP") == asked, east_west["spec"]
        objects = held[c.name] + remote + charts
        objects += gateway_stand_ins(views[c.name], objects)
        clusters.append(ClusterObjects(c.name, objects, views[c.name], c.region, c.zone))
    to_reviews, to_ratings = ask_clusters(
        clusters,
        [
            endpoints("productpage-v1", "west", "reviews"),
            endpoints("reviews-v1", "west", "ratings"),
        ],
    )
    east_gateway = gateway_of(to_reviews, "net-east")
    reviews = by_priority(to_reviews)
    assert list(reviews[0]) == ["us-west1"]
    assert reviews[1] == {"us-east1": [east_gateway]}
    assert by_priority(to_ratings) == {0: {"us-east1": [east_gateway]}}


@pytest.mark.parametrize("stack_name", ["multi", "multi_remote"])
def test_the_program_refuses_a_plaintext_key_and_a_missing_one_before_registering(
    tmp_path: Path, stack_name: str
) -> None:
    """The real engine, render mode: with east's intermediate key set in plaintext and
    the root unset, ``pulumi preview`` fails naming both config keys and the command that
    fixes each (every problem at once), registers nothing, and shows no key."""
    require_toolchain()
    # (The refusal comes before the CRD layer is read: multi's layer need not be up.)
    stack = new_stack(tmp_path, stack_name, with_crd_layer=False)
    spec, _ = resolve_stack(stack_name, stack.project)
    assert spec.multicluster is not None and spec.multicluster.plugin_ca is not None
    ca = plugin_ca(tmp_path / "ca", CLUSTERS)
    set_cluster_config(stack, spec, ca)
    east = spec.multicluster.cluster("east")
    assert east is not None and east.ca_key is not None
    stack.set_config(f"meshstack:{east.ca_key}", ca["east-key.pem"])  # not --secret
    stack.pulumi("config", "rm", f"meshstack:{spec.multicluster.plugin_ca.root_cert}")
    refused = stack.pulumi("preview", check=False)
    said = refused.stdout + refused.stderr
    assert refused.returncode != 0, said
    assert f"pulumi config set --secret meshstack:{east.ca_key}" in said, said
    assert "multicluster.clusters[east].ca_key" in said, said
    assert f"meshstack:{spec.multicluster.plugin_ca.root_cert} is not set" in said, said
    assert "Traceback" not in said, said
    assert ca["east-key.pem"].splitlines()[1] not in said
    assert stack.resource_types() == []

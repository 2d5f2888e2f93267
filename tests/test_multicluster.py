"""The multi-cluster spec: its rules, each cluster's view, and the objects that join clusters.

What Istio does with the views is judged in ``test_multicluster_judge.py`` (its control
plane) and ``test_multicluster_engine.py`` (two API servers); here, that the views are
what the facts of Istio's multi-primary and primary-remote installs say, that a mesh of one cluster renders
exactly as before, and that every problem is named before anything runs.
"""

from __future__ import annotations

from typing import Any

import pulumi
import yaml
from conftest import PROJECT, RecordingMocks
from meshstack.access.graph import who_can_call_whom
from meshstack.components.multicluster import MultiClusterMesh, MultiClusterMeshArgs
from meshstack.multicluster import (
    CROSS_NETWORK_GATEWAY,
    api_server_of,
    ca_files_of,
    cluster_config_problems,
    cluster_views,
    crossings,
    remote_secret,
    render_clusters,
)
from meshstack.render import render
from meshstack.render.install import gateway_values, istio_releases
from meshstack.spec import App, MeshCluster, MeshSpec
from meshstack.stacks import load_spec
from meshstack.validation import validate


def multi() -> MeshSpec:
    return load_spec("multi", PROJECT / "stacks")


def test_a_mesh_of_one_cluster_has_no_views_and_renders_as_before(
    stack_specs: dict[str, MeshSpec],
) -> None:
    for spec in stack_specs.values():
        assert cluster_views(spec) == {}
        assert render(spec) == render(spec.model_copy(update={"multicluster": None}))


def test_each_view_is_valid_and_carries_istiods_membership_values() -> None:
    spec = multi()
    for name, view in cluster_views(spec).items():
        assert validate(view) == [], name
        assert view.install is not None
        istiod = next(r for r in istio_releases(view.install) if r.role == "istiod")
        assert istiod.values["global"]["meshID"] == "mesh1"
        assert istiod.values["global"]["multiCluster"]["clusterName"] == name
        assert istiod.values["global"]["network"] == f"net-{name}"
        east_west = next(g for g in view.install.gateways if g.network is not None)
        values = gateway_values(east_west)
        assert values["networkGateway"] == f"net-{name}"
        assert [p.port for p in east_west.ports] == [15021, 15443, 15012, 15017]


def test_each_cluster_exposes_its_services_and_runs_only_its_workloads() -> None:
    rendered = render_clusters(multi())
    for name, objects in rendered.items():
        by_kind = {(o["kind"], o["metadata"]["name"]) for o in objects}
        namespace = next(o for o in objects if o["metadata"]["name"] == "istio-system")
        assert namespace["metadata"]["labels"]["topology.istio.io/network"] == f"net-{name}"
        expose = next(o for o in objects if o["metadata"]["name"] == CROSS_NETWORK_GATEWAY)
        (server,) = expose["spec"]["servers"]
        assert server["port"]["number"] == 15443 and server["hosts"] == ["*.local"]
        assert server["tls"] == {"mode": "AUTO_PASSTHROUGH"}
        assert ("Service", "ratings") in by_kind and ("Service", "details") in by_kind
        assert (("Deployment", "ratings-v1") in by_kind) == (name == "east")
        assert ("Deployment", "reviews-v2") in by_kind


def test_a_remote_secret_is_what_istiods_multicluster_controller_reads() -> None:
    secret = remote_secret(multi(), of="east", server="https://10.0.0.1:6443", token="t0k")
    assert secret["metadata"]["labels"] == {"istio/multiCluster": "true"}
    assert secret["metadata"]["annotations"] == {"networking.istio.io/cluster": "east"}
    kubeconfig = yaml.safe_load(secret["stringData"]["east"])
    assert api_server_of(secret["stringData"]["east"]) == "https://10.0.0.1:6443"
    assert kubeconfig["users"][0]["user"]["token"] == "t0k"


def test_the_chain_is_the_intermediate_then_the_root() -> None:
    files = ca_files_of(root="ROOT\n", cert="MID\n", key="KEY\n")
    assert files["cert-chain.pem"] == "MID\nROOT\n"
    assert sorted(files) == ["ca-cert.pem", "ca-key.pem", "cert-chain.pem", "root-cert.pem"]


def placing(
    app: App, by_workload: dict[str, tuple[str, ...]], others: tuple[str, ...] | None = None
) -> App:
    """``app`` with the named workloads placed in those clusters, the rest in ``others``
    (``None``: as they were)."""
    return app.model_copy(
        update={
            "workloads": tuple(
                w.model_copy(update={"clusters": by_workload.get(w.name, others)})
                if w.name in by_workload or others is not None
                else w
                for w in app.workloads
            )
        }
    )


def _paths(spec: MeshSpec) -> list[str]:
    return [p.path for p in validate(spec)]


def test_every_multicluster_mistake_is_named_at_once() -> None:
    spec = multi()
    assert spec.multicluster is not None and spec.install is not None
    clusters = (
        spec.multicluster.clusters[0].model_copy(update={"discovery_address": "203.0.113.10"}),
        spec.multicluster.clusters[0].model_copy(update={"ca_key": None}),
    )
    app = spec.apps[0]
    placed = placing(app, {"ratings": ("esat",)})
    broken = spec.model_copy(
        update={
            "multicluster": spec.multicluster.model_copy(update={"clusters": clusters}),
            "apps": (placed,),
            "install": spec.install.model_copy(update={"crd_stack": "multi"}),
        }
    )
    problems = {p.path: p.message for p in validate(broken)}
    # Several clusters may keep their CRDs in a layer stack, but not in themselves.
    assert "'multi' is this stack" in problems["install.crd_stack"]
    assert "declared twice" in problems["multicluster.clusters[east].name"]
    # A discovery address on a cluster no remote names as its control plane.
    assert "serves none" in problems["multicluster.clusters[east].discovery_address"]
    assert "did you mean 'east'" in problems["apps[bookinfo].workloads[ratings].clusters[0]"]
    assert "plugin_ca" in problems["multicluster.clusters[east].ca_key"]
    # west is gone, so failover to us-west1 can never happen.
    assert any(p.endswith(".to_region") for p in problems), problems


def test_placement_without_clusters_and_failover_to_nowhere_are_refused(
    stack_specs: dict[str, MeshSpec],
) -> None:
    dev = stack_specs["dev"]
    app = dev.apps[0]
    placed = app.model_copy(
        update={"workloads": (app.workloads[0].model_copy(update={"clusters": ("east",)}),)}
    )
    assert f"apps[{app.name}].workloads[{app.workloads[0].name}].clusters" in _paths(
        dev.model_copy(update={"apps": (placed, *dev.apps[1:])})
    )


def test_the_stacks_config_must_hold_each_key_and_keep_keys_secret() -> None:
    mc = multi().multicluster
    assert mc is not None
    problems = cluster_config_problems(
        mc,
        set_keys={"kubeconfigEast", "caCertEast", "caKeyEast", "caCertWest", "caKeyWest"},
        secret_keys={"kubeconfigEast"},
        rendering=False,
    )
    messages = {p.path: p.message for p in problems}
    assert (
        "pulumi config set --secret meshstack:kubeconfigWest"
        in messages["multicluster.clusters[west].kubeconfig"]
    )
    assert "in plaintext" in messages["multicluster.clusters[east].ca_key"]
    assert "meshstack:caRootCert" in messages["multicluster.plugin_ca.root_cert"]
    rendering = cluster_config_problems(
        mc, set_keys=set(mc.config_keys), secret_keys=set(mc.config_keys), rendering=True
    )
    assert rendering == []


def test_the_reader_token_keeps_its_wait_under_skip_await() -> None:
    """The remote secret is built from the token the controller writes: the token Secret
    must be waited for even where nothing else is, and its delete must not wait on a
    garbage collector (none runs on the test API servers)."""
    from meshstack.components.multicluster import reader_token_object
    from meshstack.k8s import SKIP_AWAIT, WAIT_FOR, without_waiting

    token = without_waiting(reader_token_object("istio-system")["metadata"])
    assert token["annotations"][WAIT_FOR] == "jsonpath={.data.token}"
    assert SKIP_AWAIT not in token["annotations"]
    assert token["annotations"]["pulumi.com/deletionPropagationPolicy"] == "background"
    other = without_waiting({"name": "x"})
    assert other["annotations"][SKIP_AWAIT] == "true"


# ---------------------------------------------------------------- primary-remote


def multi_remote() -> MeshSpec:
    return load_spec("multi_remote", PROJECT / "stacks")


def test_a_remote_installs_the_remote_profile_pointed_at_the_primary() -> None:
    """west's istiod release is the chart's remote profile (no istiod; a webhook and an
    ``istiod`` Service for east's, at the discovery address), its injection path names
    west's cluster and network, and its Istio namespace names east as its control plane.
    east is installed as in multi-primary, and its base chart has no profile."""
    spec = multi_remote()
    views = cluster_views(spec)
    for name, view in views.items():
        assert validate(view) == [], name
    releases = {
        name: {r.role: r for r in istio_releases(v.install) if v.install is not None}
        for name, v in views.items()
    }
    west = releases["west"]["istiod"].values
    assert west["global"]["profile"] == "remote"
    assert west["global"]["remotePilotAddress"] == "203.0.113.10"
    assert west["istiodRemote"]["injectionPath"] == "/inject/cluster/west/net/net-west"
    assert west["global"]["multiCluster"]["clusterName"] == "west"
    assert releases["west"]["base"].values["global"]["profile"] == "remote"
    east = releases["east"]["istiod"].values
    assert "profile" not in east["global"] and "istiodRemote" not in east
    # east serves west: the chart's EXTERNAL_ISTIOD (and only for a primary with remotes).
    assert east["global"]["externalIstiod"] is True
    assert "externalIstiod" not in west["global"]
    for view in cluster_views(multi()).values():
        assert view.install is not None
        istiod = next(r for r in istio_releases(view.install) if r.role == "istiod")
        assert "externalIstiod" not in istiod.values["global"]
    assert "profile" not in releases["east"]["base"].values["global"]
    rendered = render_clusters(spec)
    namespaces = {
        name: next(o for o in objects if o["metadata"]["name"] == "istio-system")
        for name, objects in rendered.items()
    }
    annotation = "topology.istio.io/controlPlaneClusters"
    assert namespaces["west"]["metadata"]["annotations"] == {annotation: "east"}
    assert "annotations" not in namespaces["east"]["metadata"]


def test_istio_configuration_lives_in_the_primary_alone() -> None:
    """No istiod reads a remote's Istio configuration: west keeps none (and runs its
    placed workloads and every Service, as in multi-primary); east has all of it, plus
    istiod exposed on its east-west gateway (15012, 15017) for west."""
    rendered = render_clusters(multi_remote())
    istio = {
        name: {
            (o["kind"], o["metadata"]["name"])
            for o in objects
            if o["apiVersion"].split("/")[0].endswith("istio.io")
        }
        for name, objects in rendered.items()
    }
    assert istio["west"] == set()
    assert {("Gateway", "istiod-gateway"), ("VirtualService", "istiod-vs")} <= istio["east"]
    assert ("DestinationRule", "reviews") in istio["east"]
    gateway = next(o for o in rendered["east"] if o["metadata"]["name"] == "istiod-gateway")
    servers = gateway["spec"]["servers"]
    assert [(s["port"]["number"], s["tls"]["mode"]) for s in servers] == [
        (15012, "PASSTHROUGH"),
        (15017, "PASSTHROUGH"),
    ]
    west = {(o["kind"], o["metadata"]["name"]) for o in rendered["west"]}
    assert ("Deployment", "reviews-v1") in west and ("Deployment", "ratings-v1") not in west
    assert ("Service", "ratings") in west
    # multi-primary exposes no istiod: no cluster is served by another's.
    assert all(
        o["metadata"]["name"] != "istiod-gateway"
        for objects in render_clusters(multi()).values()
        for o in objects
    )


def test_only_the_primary_reads_the_others() -> None:
    mc = multi_remote().multicluster
    assert mc is not None
    assert mc.reads("east") == ("west",) and mc.reads("west") == ()
    primary = multi().multicluster
    assert primary is not None
    assert primary.reads("east") == ("west",) and primary.reads("west") == ("east",)


def with_clusters(spec: MeshSpec, *clusters: MeshCluster) -> MeshSpec:
    assert spec.multicluster is not None
    return spec.model_copy(
        update={"multicluster": spec.multicluster.model_copy(update={"clusters": clusters})}
    )


def test_every_primary_remote_mistake_is_named_at_once() -> None:
    spec = multi_remote()
    assert spec.multicluster is not None
    east, west = spec.multicluster.clusters
    stray = west.model_copy(update={"ca_cert": "caCertWest", "trust_domain": "west.example"})

    problems = {p.path: p.message for p in validate(with_clusters(spec, east, stray))}
    assert "runs no istiod" in problems["multicluster.clusters[west].ca_cert"]
    assert "trust domain" in problems["multicluster.clusters[west].trust_domain"]
    typo = west.model_copy(update={"control_plane": "eats"})
    problems = {p.path: p.message for p in validate(with_clusters(spec, east, typo))}
    assert "did you mean 'east'" in problems["multicluster.clusters[west].control_plane"]
    # A remote served by itself, or by another remote, has no istiod to be served by.
    itself = west.model_copy(update={"control_plane": "west"})
    problems = {p.path: p.message for p in validate(with_clusters(spec, east, itself))}
    assert "it is this cluster" in problems["multicluster.clusters[west].control_plane"]
    central = west.model_copy(update={"name": "central", "control_plane": "west"})
    problems = {p.path: p.message for p in validate(with_clusters(spec, east, west, central))}
    assert "it is a remote" in problems["multicluster.clusters[central].control_plane"]
    assert "one of east" in problems["multicluster.clusters[central].control_plane"]
    # A primary serving remotes says where they reach it; a remote and a primary serving
    # none have no such address.
    unreached = east.model_copy(update={"discovery_address": None})
    remote_address = west.model_copy(update={"discovery_address": "203.0.113.11"})
    problems = {p.path: p.message for p in validate(with_clusters(spec, unreached, remote_address))}
    assert "load-balancer address" in problems["multicluster.clusters[east].discovery_address"]
    assert "is a remote" in problems["multicluster.clusters[west].discovery_address"]
    multi_primary = multi()
    assert multi_primary.multicluster is not None
    first, second = multi_primary.multicluster.clusters
    stray_address = first.model_copy(update={"discovery_address": "not an address!"})
    said = [
        (p.path, p.message) for p in validate(with_clusters(multi_primary, stray_address, second))
    ]
    assert any(
        w == "multicluster.clusters[east].discovery_address" and "IP address" in m for w, m in said
    ), said
    assert any(
        w == "multicluster.clusters[east].discovery_address" and "serves none" in m for w, m in said
    ), said


def test_a_namespace_places_its_workloads_unless_one_narrows_it() -> None:
    """``Namespace.clusters`` is where its workloads run by default: a namespace kept to
    east runs no pods in west, though its namespace, Services and accounts are there
    (callers in west resolve them); a workload may narrow it, never widen it."""
    spec = multi()
    assert spec.multicluster is not None
    app = spec.apps[0]
    east_only = spec.model_copy(
        update={
            "namespaces": tuple(
                n.model_copy(update={"clusters": ("east",)}) if n.name == "bookinfo" else n
                for n in spec.namespaces
            ),
            "apps": (placing(app, {}, others=()),),
        }
    )
    assert validate(east_only) == []
    rendered = render_clusters(east_only)
    west = {
        (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in rendered["west"]
    }
    assert not any(k == "Deployment" and ns == "bookinfo" for k, ns, _ in west)
    assert ("Service", "bookinfo", "reviews") in west and ("Namespace", None, "bookinfo") in west
    east = {(o["kind"], o["metadata"]["name"]) for o in rendered["east"]}
    assert ("Deployment", "reviews-v1") in east and ("Deployment", "ratings-v1") in east
    assert east_only.placement_of("bookinfo", app.workloads[0]) == ("east",)

    widened = east_only.model_copy(
        update={
            "apps": (placing(app, {"reviews": ("west",)}, others=()),),
            "namespaces": tuple(
                n.model_copy(update={"clusters": ("eastt",)}) if n.name == "istio-ingress" else n
                for n in east_only.namespaces
            ),
        }
    )
    problems = {p.path: p.message for p in validate(widened)}
    assert "runs in east only" in problems["apps[bookinfo].workloads[reviews].clusters[0]"]
    assert "did you mean 'east'" in problems["namespaces[istio-ingress].clusters[0]"]
    one_cluster = east_only.model_copy(update={"multicluster": None, "apps": ()})
    assert "namespaces[bookinfo].clusters" in _paths(one_cluster)


def on_one_network(spec: MeshSpec) -> MeshSpec:
    """``spec`` with every cluster on one network (``net1``): pods reach each other."""
    assert spec.multicluster is not None
    clusters = tuple(c.model_copy(update={"network": "net1"}) for c in spec.multicluster.clusters)
    return spec.model_copy(
        update={"multicluster": spec.multicluster.model_copy(update={"clusters": clusters})}
    )


def with_central(spec: MeshSpec, shared: tuple[str, ...] = ()) -> MeshSpec:
    """``spec`` with a third cluster, ``central`` (us-central1): a copy of its last cluster
    (a primary in multi, the remote in multi_remote) on its first cluster's network, so
    one network holds two clusters and their two east-west gateways. The workloads named
    in ``shared`` run in the first cluster and central."""
    assert spec.multicluster is not None
    first, last = spec.multicluster.clusters[0], spec.multicluster.clusters[-1]

    def key(name: str | None) -> str | None:
        return None if name is None else name.replace(last.name.title(), "Central")

    central = last.model_copy(
        update={
            "name": "central",
            "network": first.network,
            "region": "us-central1",
            "kubeconfig": key(last.kubeconfig),
            "ca_cert": key(last.ca_cert),
            "ca_key": key(last.ca_key),
        }
    )
    clusters = (*spec.multicluster.clusters, central)
    apps = tuple(placing(a, {w: (first.name, "central") for w in shared}) for a in spec.apps)
    return spec.model_copy(
        update={
            "apps": apps,
            "multicluster": spec.multicluster.model_copy(update={"clusters": clusters}),
        }
    )


def with_a_remote_each(spec: MeshSpec) -> MeshSpec:
    """multi (two primaries) with a remote beside each (Istio's multi-primary with
    remotes): ``central`` (us-central1) on east's network, served by east's istiod, and
    ``mountain`` (us-west2) on west's, served by west's; each primary gives the address
    its remotes reach it at."""
    assert spec.multicluster is not None
    east, west = spec.multicluster.clusters

    def remote(name: str, region: str, of: MeshCluster) -> MeshCluster:
        return MeshCluster(
            name=name,
            network=of.network,
            region=region,
            kubeconfig=f"kubeconfig{name.title()}",
            control_plane=of.name,
        )

    return with_clusters(
        spec,
        east.model_copy(update={"discovery_address": "203.0.113.10"}),
        west.model_copy(update={"discovery_address": "203.0.113.20"}),
        remote("central", "us-central1", east),
        remote("mountain", "us-west2", west),
    )


def test_each_remote_is_served_by_its_own_primary() -> None:
    """Two primaries, a remote each: a remote's webhook and istiod Service point at its
    own primary's discovery address, both primaries expose istiod, and every primary
    reads every other cluster's endpoints (the other primary's remote's too)."""
    spec = with_a_remote_each(multi())
    assert validate(spec) == []
    assert spec.multicluster is not None
    views, rendered = cluster_views(spec), render_clusters(spec)
    served = {}
    for name, view in views.items():
        assert view.install is not None and view.install.membership is not None
        m = view.install.membership
        served[name] = (m.control_plane, m.discovery_address, m.serves_remotes)
    assert served == {
        "east": (None, None, True),
        "west": (None, None, True),
        "central": ("east", "203.0.113.10", False),
        "mountain": ("west", "203.0.113.20", False),
    }
    for primary in ("east", "west"):
        assert "istiod-gateway" in _names(rendered[primary], "Gateway"), primary
    assert spec.multicluster.reads("east") == ("west", "central", "mountain")
    assert spec.multicluster.reads("west") == ("east", "central", "mountain")
    assert spec.multicluster.reads("central") == spec.multicluster.reads("mountain") == ()


def test_two_clusters_of_one_network_each_get_an_east_west_gateway() -> None:
    """Three clusters, two of them on net-east: each of those has its own east-west
    gateway (Istio's gateways are per network and cluster), and a call from net-west to
    a service in both goes through either, one per cluster the callee runs in."""
    for spec in (with_central(multi(), shared=("ratings",)), with_central(multi_remote())):
        assert validate(spec) == [], spec.stack
        views = cluster_views(spec)
        for name, view in views.items():
            assert view.install is not None
            assert "istio-eastwestgateway" in [g.name for g in view.install.gateways], name
    spec = with_central(multi(), shared=("ratings",))
    declared = [(c.caller, c.callee) for c in who_can_call_whom(spec) if c.declared]
    to_ratings = {
        c.cluster: c.gateways for c in crossings(spec, declared) if c.callee.endswith("/ratings")
    }
    assert to_ratings == {"west": ("east", "central")}


def _names(objects: list[dict[str, object]], kind: str) -> set[str]:
    return {o["metadata"]["name"] for o in objects if o["kind"] == kind}  # type: ignore[index]


def test_clusters_of_one_network_need_no_east_west_gateway() -> None:
    """Istio's single-network topologies: multi-primary on one network has no east-west
    gateway at all (sidecars call the other cluster's pods directly); primary-remote on
    one network keeps the primary's, only to expose istiod to the remote."""
    spec = on_one_network(multi())
    assert validate(spec) == []
    assert spec.multicluster is not None and not spec.multicluster.crosses_networks
    views, rendered = cluster_views(spec), render_clusters(spec)
    for name, view in views.items():
        assert view.install is not None
        assert [g.name for g in view.install.gateways] == ["istio-ingressgateway"], name
        assert CROSS_NETWORK_GATEWAY not in _names(rendered[name], "Gateway"), name
    declared = [(c.caller, c.callee) for c in who_can_call_whom(spec) if c.declared]
    found = crossings(spec, declared)
    assert found and all(c.gateways == () and "directly" in str(c) for c in found)

    remote = on_one_network(multi_remote())
    assert validate(remote) == []
    views, rendered = cluster_views(remote), render_clusters(remote)
    east, west = views["east"].install, views["west"].install
    assert east is not None and west is not None
    assert "istio-eastwestgateway" in [g.name for g in east.gateways]
    assert "istio-eastwestgateway" not in [g.name for g in west.gateways]
    assert _names(rendered["east"], "Gateway") >= {"istiod-gateway"}
    assert CROSS_NETWORK_GATEWAY not in _names(rendered["east"], "Gateway")


def test_two_networks_give_every_cluster_its_east_west_gateway() -> None:
    """Every cluster's gateway release; the expose Gateway wherever an istiod reads it
    (a remote's gateway is configured from the primary's)."""
    for spec in (multi(), multi_remote()):
        assert spec.multicluster is not None
        views, rendered = cluster_views(spec), render_clusters(spec)
        for name, view in views.items():
            assert view.install is not None
            assert "istio-eastwestgateway" in [g.name for g in view.install.gateways], name
            exposed = CROSS_NETWORK_GATEWAY in _names(rendered[name], "Gateway")
            assert exposed == (not spec.multicluster.is_remote(name)), name


def test_the_primary_asks_for_the_discovery_address_its_remotes_are_told() -> None:
    """The remotes reach istiod at ``discovery_address``: the primary's east-west gateway
    chart asks its load balancer for that address (``service.loadBalancerIP``), so the
    two cannot drift; a DNS name (a cloud load balancer's) is left to the user."""
    spec = multi_remote()
    assert spec.multicluster is not None

    def east_west_values(s: MeshSpec, cluster: str) -> dict[str, Any]:
        view = cluster_views(s)[cluster]
        assert view.install is not None
        [gw] = [g for g in view.install.gateways if g.network is not None]
        return gateway_values(gw)

    service = east_west_values(spec, "east")["service"]
    assert service == {"type": "LoadBalancer", "loadBalancerIP": "203.0.113.10"}
    assert "loadBalancerIP" not in east_west_values(spec, "west")["service"]
    assert "loadBalancerIP" not in east_west_values(multi(), "east")["service"]
    east, west = spec.multicluster.clusters
    named = with_clusters(
        spec, east.model_copy(update={"discovery_address": "istiod.example.com"}), west
    )
    assert "loadBalancerIP" not in east_west_values(named, "east")["service"]


def test_only_a_load_balancer_asks_for_an_address() -> None:
    spec = multi()
    assert spec.install is not None
    ingress = spec.install.gateways[0].model_copy(update={"load_balancer_ip": "203.0.113.20"})
    broken = spec.model_copy(
        update={"install": spec.install.model_copy(update={"gateways": (ingress,)})}
    )
    [problem] = [p for p in validate(broken) if p.path.endswith("load_balancer_ip")]
    assert problem.path == "install.gateways[istio-ingressgateway].load_balancer_ip"
    assert "NodePort" in problem.message and "LOAD_BALANCER" in problem.message


@pulumi.runtime.test
def test_the_mesh_gives_every_primary_each_other_clusters_remote_secret(
    engine: RecordingMocks,
) -> Any:
    """Two primaries with a remote each, as one ``MultiClusterMesh``: a reader token in
    every cluster (each is read by a primary), and in each primary a remote secret for
    each other cluster, the other primary's remote too; the remotes hold none."""
    spec = with_a_remote_each(multi())
    clusters = [c.name for c in spec.multicluster.clusters] if spec.multicluster else []
    mesh = MultiClusterMesh(
        "mesh",
        MultiClusterMeshArgs(
            spec=spec,
            providers={},
            servers={c: f"https://{c}.invalid:6443" for c in clusters},
            base_dir=PROJECT,
        ),
    )
    assert sorted(mesh.reader_tokens) == sorted(clusters)
    assert sorted(mesh.remote_secrets) == sorted(
        (primary, read) for primary in ("east", "west") for read in clusters if read != primary
    )

    def check(_: Any) -> None:
        held = {
            (r.name.removeprefix("mesh-").split("-")[0], r.inputs["metadata"]["name"])
            for r in engine.resources
            if r.inputs.get("metadata", {}).get("name", "").startswith("istio-remote-secret-")
        }
        assert held == {
            (primary, f"istio-remote-secret-{read}") for primary, read in mesh.remote_secrets
        }, held

    return pulumi.Output.all(*(s.urn for s in mesh.remote_secrets.values())).apply(check)

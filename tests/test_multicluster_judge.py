"""Istio's control plane judges the multi-cluster stack: one istiod per cluster.

``meshstack-judge`` runs a fake discovery server per cluster of ``stacks/multi.py``, each
with its own cluster's rendered objects and mesh config, reading the other cluster's
Services and endpoints only where the objects hold a remote secret for it. The answers
are Envoy's endpoints (EDS, by locality and priority) and the callee's RBAC: a sidecar
on one network reaches the other network's pods through that network's east-west
gateway, a service running in both prefers its own region and fails over to the other
only with outlier detection, and the identity of a workload in one cluster passes the
authorization policy of the other. Each check also fails on a spec (or objects) without
the piece it guards: the network, the remote secret, the failover policy.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import PROJECT
from engine_stack import require_toolchain
from istioctl import analyze, unjustified
from meshstack.istio_judge import ClusterObjects, ask_clusters, gateway_stand_ins
from meshstack.k8s import K8sObject
from meshstack.multicluster import (
    CROSS_NETWORK_GATEWAY,
    cluster_views,
    remote_secret,
    render_clusters,
)
from meshstack.spec import MeshSpec
from meshstack.stacks import load_spec
from meshstack.validation import validate
from test_multicluster import (
    on_one_network,
    placing,
    with_a_remote_each,
    with_central,
    with_clusters,
)

pytestmark = pytest.mark.cluster

Edit = Callable[[str, list[K8sObject]], list[K8sObject]]


@pytest.fixture(autouse=True)
def _judge() -> None:
    require_toolchain("judge")


@pytest.fixture(scope="module")
def multi() -> MeshSpec:
    return load_spec("multi", PROJECT / "stacks")


def questions(spec: MeshSpec, edit: Edit | None = None) -> list[ClusterObjects]:
    """Each cluster's objects as the program applies them: the cluster's render, its
    installed gateways' stand-ins, and a remote secret for each cluster its istiod reads."""
    assert spec.multicluster is not None
    views, rendered = cluster_views(spec), render_clusters(spec)
    found = []
    for c in spec.multicluster.clusters:
        objects = rendered[c.name] + gateway_stand_ins(views[c.name], rendered[c.name])
        objects += [
            remote_secret(spec, of=read, server="https://127.0.0.1:6443", token="judge")
            for read in spec.multicluster.reads(c.name)
        ]
        if edit is not None:
            objects = edit(c.name, objects)
        found.append(ClusterObjects(c.name, objects, views[c.name], c.region, c.zone))
    return found


def endpoints(caller: str, cluster: str, service: str) -> dict[str, Any]:
    return {
        "kind": "endpoints",
        "cluster": cluster,
        "from": {"namespace": "bookinfo", "name": caller},
        "to": {"namespace": "bookinfo", "service": service, "port": 9080},
    }


def access(caller: str, cluster: str, callee: str, at: str) -> dict[str, Any]:
    return {
        "kind": "access",
        "cluster": cluster,
        "from": {"namespace": "bookinfo", "name": caller},
        "to": {"cluster": at, "namespace": "bookinfo", "service": callee, "port": 9080},
    }


def by_priority(answer: dict[str, Any]) -> dict[int, dict[str, list[str]]]:
    """priority → locality → addresses, as Envoy will try them."""
    assert not answer.get("error"), answer
    found: dict[int, dict[str, list[str]]] = {}
    for group in answer.get("localities") or []:
        addresses = [e["address"] for e in group["endpoints"]]
        found.setdefault(group["priority"], {})[group["locality"]] = sorted(addresses)
    return found


def gateway_of(answer: dict[str, Any], network: str) -> str:
    """The address istiod knows ``network``'s east-west gateway by."""
    addresses = [g["address"] for g in answer["networkGateways"] if g["network"] == network]
    assert len(addresses) == 1, answer["networkGateways"]
    return addresses[0]


def gateway_of_cluster(answer: dict[str, Any], cluster: str) -> str:
    """The address istiod knows ``cluster``'s east-west gateway by (a network may hold
    several clusters, each with its own)."""
    addresses = [g["address"] for g in answer["networkGateways"] if g["cluster"] == cluster]
    assert len(addresses) == 1, answer["networkGateways"]
    return addresses[0]


def test_west_reaches_easts_pods_through_easts_gateway_and_fails_over_there(
    multi: MeshSpec,
) -> None:
    to_reviews, to_ratings = ask_clusters(
        questions(multi),
        [
            endpoints("productpage-v1", "west", "reviews"),
            endpoints("reviews-v1", "west", "ratings"),
        ],
    )
    east_gateway = gateway_of(to_reviews, "net-east")
    assert east_gateway.endswith(":15443")
    reviews = by_priority(to_reviews)
    # Its own region first: west's three reviews pods, reached directly.
    assert list(reviews[0]) == ["us-west1"] and len(reviews[0]["us-west1"]) == 3
    assert all(not a.endswith(":15443") for a in reviews[0]["us-west1"])
    # Then east, whose pods are on another network: one endpoint, east's gateway.
    assert reviews[1] == {"us-east1": [east_gateway]}
    # ratings runs only in east: west's reviews reach it through east's gateway alone.
    assert by_priority(to_ratings) == {0: {"us-east1": [east_gateway]}}


def test_a_namespace_kept_to_west_keeps_every_bookinfo_endpoint_there(multi: MeshSpec) -> None:
    """``Namespace.clusters`` reaches Istio: bookinfo's workloads (placed by their
    namespace alone) run in west only, so west's reviews reach ratings in its own region,
    directly, and east's istiod finds no local productpage endpoint to prefer."""
    spec = multi.model_copy(
        update={
            "namespaces": tuple(
                n.model_copy(update={"clusters": ("west",)}) if n.name == "bookinfo" else n
                for n in multi.namespaces
            ),
            "apps": tuple(placing(app, {}, others=()) for app in multi.apps),
        }
    )
    assert validate(spec) == []
    to_ratings, to_productpage = ask_clusters(
        questions(spec),
        [
            endpoints("reviews-v1", "west", "ratings"),
            {
                **endpoints("istio-ingressgateway", "east", "productpage"),
                "gateway": True,
                "from": {"namespace": "istio-ingress", "name": "istio-ingressgateway"},
            },
        ],
    )
    ratings = by_priority(to_ratings)
    assert list(ratings) == [0] and list(ratings[0]) == ["us-west1"]
    assert all(not a.endswith(":15443") for a in ratings[0]["us-west1"])
    west_gateway = gateway_of(to_productpage, "net-west")
    assert by_priority(to_productpage) == {0: {"us-west1": [west_gateway]}}


def test_east_prefers_its_own_region_too(multi: MeshSpec) -> None:
    (answer,) = ask_clusters(questions(multi), [endpoints("productpage-v1", "east", "reviews")])
    reviews = by_priority(answer)
    assert list(reviews[0]) == ["us-east1"] and len(reviews[0]["us-east1"]) == 3
    assert reviews[1] == {"us-west1": [gateway_of(answer, "net-west")]}


def test_without_failover_every_region_is_tried_alike(multi: MeshSpec) -> None:
    """The priorities are the DestinationPolicy's doing: without it one priority."""
    policy = multi.policy.model_copy(update={"destination_policies": ()})
    (answer,) = ask_clusters(
        questions(multi.model_copy(update={"policy": policy})),
        [endpoints("productpage-v1", "west", "reviews")],
    )
    assert set(by_priority(answer)) == {0}


def test_without_a_remote_secret_the_other_cluster_is_unseen(multi: MeshSpec) -> None:
    def no_remote_secret(cluster: str, objects: list[K8sObject]) -> list[K8sObject]:
        return [o for o in objects if not (o["kind"] == "Secret" and cluster == "west")]

    (answer,) = ask_clusters(
        questions(multi, no_remote_secret), [endpoints("reviews-v1", "west", "ratings")]
    )
    assert by_priority(answer) == {}


def test_without_networks_istio_sends_to_the_other_clusters_pods_directly(
    multi: MeshSpec,
) -> None:
    """The network is what makes istiod use the gateway: a view whose install forgot its
    membership gets east's pod addresses, which west's pods cannot reach."""
    clusters = [
        ClusterObjects(
            c.name,
            c.objects,
            c.view.model_copy(
                update={
                    "install": c.view.install.model_copy(update={"membership": None})
                    if c.view.install
                    else None
                }
            ),
            c.region,
        )
        for c in questions(multi)
    ]
    (answer,) = ask_clusters(clusters, [endpoints("reviews-v1", "west", "ratings")])
    addresses = [
        a for groups in by_priority(answer).values() for found in groups.values() for a in found
    ]
    assert addresses and all(a.endswith(":9080") for a in addresses)


def test_easts_gateway_exposes_its_services_on_15443(multi: MeshSpec) -> None:
    query = {
        "kind": "listeners",
        "cluster": "east",
        "gateway": True,
        "from": {"namespace": "istio-system", "name": "istio-eastwestgateway"},
    }

    def without_expose(cluster: str, objects: list[K8sObject]) -> list[K8sObject]:
        return [o for o in objects if o["metadata"]["name"] != CROSS_NETWORK_GATEWAY]

    (exposed,) = ask_clusters(questions(multi), [query])
    (hidden,) = ask_clusters(questions(multi, without_expose), [query])
    assert "0.0.0.0_15443" in exposed["listeners"], exposed
    assert "0.0.0.0_15443" not in (hidden.get("listeners") or []), hidden


def test_reviews_in_west_may_call_ratings_in_east_and_productpage_may_not(
    multi: MeshSpec,
) -> None:
    from_reviews, from_productpage = ask_clusters(
        questions(multi),
        [
            access("reviews-v1", "west", "ratings", "east"),
            access("productpage-v1", "west", "ratings", "east"),
        ],
    )
    assert from_reviews["mtls"] and from_reviews["allowed"] is True, from_reviews
    assert from_reviews["principal"].endswith("/ns/bookinfo/sa/bookinfo-reviews")
    assert from_productpage["allowed"] is False, from_productpage


TOPOLOGIES: dict[str, Callable[[MeshSpec], MeshSpec]] = {
    "two-networks": lambda spec: spec,
    "one-network": on_one_network,
    # Two clusters on net-east, each with its own east-west gateway: ratings only in the
    # first, or in both (then net-west's calls go through either gateway).
    "three-clusters": with_central,
    "three-clusters-shared": lambda spec: with_central(spec, shared=("ratings", "details")),
}


@pytest.mark.parametrize("topology", list(TOPOLOGIES))
@pytest.mark.parametrize("stack", ["multi", "multi_remote"])
def test_every_crossing_graph_names_is_istios(stack: str, topology: str) -> None:
    """``graph`` says which declared calls leave the caller's cluster and which clusters'
    gateways they cross, or that they reach the other cluster's pods directly (one
    network, no east-west gateway for them); Istio's EDS for each caller says the same
    (and nothing else), whether each cluster runs istiod or the remote's sidecars are the
    primary's, and with two clusters on one network (a gateway each)."""
    crossings_are_istios(TOPOLOGIES[topology](load_spec(stack, PROJECT / "stacks")))


def crossings_are_istios(multi: MeshSpec) -> None:
    """Each declared call graph says crosses clusters goes where Istio's EDS sends it."""
    from meshstack.access.graph import who_can_call_whom
    from meshstack.multicluster import crossings

    assert validate(multi) == []
    declared = [(c.caller, c.callee) for c in who_can_call_whom(multi) if c.declared]
    found = crossings(multi, declared)
    assert found, "the stack has calls that cross clusters"
    answers = ask_clusters(
        questions(multi),
        [
            endpoints(c.caller.split("/")[1] + "-v1", c.cluster, c.callee.split("/")[1])
            for c in found
        ],
    )
    for crossing, answer in zip(found, answers, strict=True):
        gateways = {gateway_of_cluster(answer, g) for g in crossing.gateways}
        reached = {a for groups in by_priority(answer).values() for x in groups.values() for a in x}
        through = {a for a in reached if a.endswith(":15443")}
        assert through == gateways, (str(crossing), answer)
        # Directly: the callee's own pods, exactly where graph says no gateway is crossed.
        assert bool(reached - through) == ("directly" in str(crossing)), (str(crossing), answer)
        assert reached, (str(crossing), answer)


def test_two_primaries_each_serve_their_own_remote(multi: MeshSpec) -> None:
    """Multi-primary with a remote beside each primary: Istio serves each remote's
    sidecars from the primary it names, so a remote's workloads carry that primary's
    identities (west's own trust domain for mountain's, east's for central's), pass
    ratings' policy in east, and reach every cluster where graph says they do."""
    assert multi.multicluster is not None
    east, west = multi.multicluster.clusters
    own_domain = with_a_remote_each(
        with_clusters(multi, east, west.model_copy(update={"trust_domain": "west.example"}))
    )
    crossings_are_istios(own_domain)
    from_mountain, from_central = ask_clusters(
        questions(own_domain),
        [
            access("reviews-v1", "mountain", "ratings", "east"),
            access("reviews-v1", "central", "ratings", "east"),
        ],
    )
    assert from_mountain["principal"].startswith("spiffe://west.example/"), from_mountain
    assert from_central["principal"].startswith(f"spiffe://{multi.trust_domain}/"), from_central
    for answer in (from_mountain, from_central):
        assert answer["mtls"] and answer["allowed"] is True, answer


def test_a_cluster_of_its_own_trust_domain_is_admitted_through_the_others_aliases(
    multi: MeshSpec,
) -> None:
    """west issues identities in ``west.example``; east's istiod accepts it as an alias of
    its own, so ratings' policy (``bookinfo/bookinfo-reviews``) admits reviews from west.
    Without the alias east's RBAC names only its own domain and refuses it."""
    assert multi.multicluster is not None
    east, west = multi.multicluster.clusters
    own_domain = multi.model_copy(
        update={
            "multicluster": multi.multicluster.model_copy(
                update={
                    "clusters": (east, west.model_copy(update={"trust_domain": "west.example"}))
                }
            )
        }
    )
    query = access("reviews-v1", "west", "ratings", "east")
    (aliased,) = ask_clusters(questions(own_domain), [query])
    assert aliased["principal"].startswith("spiffe://west.example/"), aliased
    assert aliased["allowed"] is True, aliased
    unaliased = [
        c
        if c.name == "west"
        else ClusterObjects(
            c.name,
            c.objects,
            c.view.model_copy(update={"trust_domain_aliases": ()}),
            c.region,
        )
        for c in questions(own_domain)
    ]
    (refused,) = ask_clusters(unaliased, [query])
    assert refused["allowed"] is False, refused


# ---------------------------------------------------------------- primary-remote


@pytest.fixture(scope="module")
def multi_remote() -> MeshSpec:
    return load_spec("multi_remote", PROJECT / "stacks")


def test_a_remotes_sidecars_are_configured_by_the_primarys_istiod(
    multi_remote: MeshSpec,
) -> None:
    """west runs no istiod and keeps no Istio configuration: its sidecars are east's
    istiod's (west's Istio namespace names east as its control plane), so east's failover
    policy orders west's endpoints, and east's gateway carries west's calls to east. Were
    west's view to leave out that annotation, west would be judged as a cluster of its
    own istiod with no configuration at all, and the failover priorities would vanish."""
    to_reviews, to_ratings = ask_clusters(
        questions(multi_remote),
        [
            endpoints("productpage-v1", "west", "reviews"),
            endpoints("reviews-v1", "west", "ratings"),
        ],
    )
    east_gateway = gateway_of(to_reviews, "net-east")
    # One address for east's gateway: what west's istiod Service points at (the discovery
    # address, which east's load balancer asks for) is where Istio sends west's calls.
    assert multi_remote.multicluster is not None
    assert east_gateway == f"{multi_remote.multicluster.discovery_address_of('west')}:15443"
    reviews = by_priority(to_reviews)
    assert list(reviews[0]) == ["us-west1"] and len(reviews[0]["us-west1"]) == 3, reviews
    assert reviews[1] == {"us-east1": [east_gateway]}, reviews
    assert by_priority(to_ratings) == {0: {"us-east1": [east_gateway]}}

    def own_istiod(cluster: str, objects: list[K8sObject]) -> list[K8sObject]:
        for o in objects:
            if o["kind"] == "Namespace" and o["metadata"]["name"] == "istio-system":
                o["metadata"].pop("annotations", None)
        return objects

    (alone,) = ask_clusters(
        questions(multi_remote, own_istiod), [endpoints("productpage-v1", "west", "reviews")]
    )
    assert set(by_priority(alone)) == {0}, alone


def test_east_reads_west_only_through_its_remote_secret(multi_remote: MeshSpec) -> None:
    """The primary holds a remote secret for the remote (and the remote holds none):
    without it east's istiod knows no west pods, and west's sidecars are nobody's."""

    def without_secrets(cluster: str, objects: list[K8sObject]) -> list[K8sObject]:
        return [o for o in objects if not o["metadata"]["name"].startswith("istio-remote-secret")]

    query = endpoints("productpage-v1", "east", "reviews")
    (joined,) = ask_clusters(questions(multi_remote), [query])
    (apart,) = ask_clusters(questions(multi_remote, without_secrets), [query])
    assert "us-west1" in by_priority(joined)[1], joined
    assert all("us-west1" not in g for g in by_priority(apart).values()), apart


def test_reviews_in_the_remote_may_call_ratings_in_the_primary(multi_remote: MeshSpec) -> None:
    """Identities in a remote are issued by the primary's istiod, in its trust domain:
    ratings' policy admits reviews from west and still refuses productpage."""
    from_reviews, from_productpage = ask_clusters(
        questions(multi_remote),
        [
            access("reviews-v1", "west", "ratings", "east"),
            access("productpage-v1", "west", "ratings", "east"),
        ],
    )
    assert from_reviews["mtls"] and from_reviews["allowed"] is True, from_reviews
    assert from_productpage["allowed"] is False, from_productpage


def test_the_primarys_east_west_gateway_passes_tls_through_to_istiod(
    multi_remote: MeshSpec,
) -> None:
    """Remotes reach istiod at the primary's east-west gateway: TLS on 15012 goes to
    istiod's XDS port, on 15017 to its webhook (443), unterminated. Without the routes
    (``istiod-vs``) the gateway has the listeners but sends the TLS nowhere."""
    gateway = {"namespace": "istio-system", "name": "istio-eastwestgateway"}
    queries = [
        {
            "kind": "route",
            "cluster": "east",
            "gateway": True,
            "from": gateway,
            "port": port,
            "protocol": "tcp",
            "tls": True,
            "host": "istiod.istio-system.svc",
        }
        for port in (15012, 15017)
    ]
    xds, webhook = ask_clusters(questions(multi_remote), queries)
    istiod = "istiod.istio-system.svc.cluster.local"
    assert [b["cluster"] for b in xds["backends"]] == [f"outbound|15012||{istiod}"], xds
    assert [b["cluster"] for b in webhook["backends"]] == [f"outbound|443||{istiod}"], webhook

    def without_routes(cluster: str, objects: list[K8sObject]) -> list[K8sObject]:
        return [o for o in objects if o["metadata"]["name"] != "istiod-vs"]

    unrouted, _ = ask_clusters(questions(multi_remote, without_routes), queries)
    assert not unrouted.get("backends"), unrouted


def test_istioctl_finds_nothing_in_any_cluster_of_two_primaries_with_remotes(
    multi: MeshSpec, tmp_path: Path
) -> None:
    """Each of the four clusters' objects, as the judge gets them (the remotes' webhook
    and istiod Service, each primary's istiod-gateway and remote secrets), passes
    ``istioctl analyze``."""
    spec = with_a_remote_each(multi)
    for cluster in questions(spec):
        directory = tmp_path / cluster.name
        directory.mkdir()
        (directory / "objects.yaml").write_text(yaml.safe_dump_all(list(cluster.objects)))
        assert unjustified(analyze(directory)) == [], cluster.name

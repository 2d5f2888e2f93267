"""Istio's own CA judges the shared root of trust of the multi-cluster stacks.

Each cluster's ``cacerts`` (made as ``make test`` makes them: an openssl root and one
intermediate per istiod cluster, assembled by meshstack's ``ca_files_of`` as the program
assembles them) is loaded by ``meshstack-judge`` the way istiod's bootstrap loads a
plug-in CA; each CA signs a workload certificate as istiod's CA server does, and every
other cluster's root verifies it — what a sidecar of one cluster does with an mTLS peer
from the other. Each check fails on the mistake it guards: two roots, a chain that leads
elsewhere, an intermediate that may not sign.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cluster_config import plugin_ca
from conftest import PROJECT
from engine_stack import require_toolchain
from meshstack.istio_judge import ClusterCA, ask_trust
from meshstack.multicluster import ca_files_of, cluster_views
from meshstack.spec import MeshSpec
from meshstack.stacks import load_spec

pytestmark = pytest.mark.cluster


@pytest.fixture(autouse=True)
def _judge() -> None:
    require_toolchain("judge")


def authority(name: str, ca: dict[str, str], trust_domain: str = "cluster.local") -> ClusterCA:
    """Cluster ``name``'s CA: its intermediate of ``ca`` and that root, in the files the
    program puts in its ``cacerts``."""
    files = ca_files_of(
        root=ca["root-cert.pem"], cert=ca[f"{name}-cert.pem"], key=ca[f"{name}-key.pem"]
    )
    return ClusterCA(name, files, trust_domain)


def authorities(spec: MeshSpec, ca: dict[str, str]) -> list[ClusterCA]:
    """One CA per cluster that runs istiod, minting identities in the trust domain its
    view gives istiod."""
    assert spec.multicluster is not None
    return [
        authority(name, ca, view.trust_domain)
        for name, view in cluster_views(spec).items()
        if not spec.multicluster.is_remote(name)
    ]


def test_one_root_makes_each_clusters_identities_trusted_in_the_other(tmp_path: Path) -> None:
    spec = load_spec("multi", PROJECT / "stacks")
    answers = ask_trust(authorities(spec, plugin_ca(tmp_path, ("east", "west"))))
    assert answers.refused == {}
    assert answers.reasons == {
        (signer, verifier): None for signer in ("east", "west") for verifier in ("east", "west")
    }


def test_two_roots_leave_each_cluster_trusting_only_itself(tmp_path: Path) -> None:
    east = plugin_ca(tmp_path / "east", ("east",))
    west = plugin_ca(tmp_path / "west", ("west",))
    answers = ask_trust([authority("east", east), authority("west", west)])
    assert answers.refused == {}
    assert answers.trusted("east", "east") and answers.trusted("west", "west")
    assert not answers.trusted("east", "west") and not answers.trusted("west", "east")
    assert "unknown authority" in (answers.reasons[("east", "west")] or "")


def test_istio_refuses_an_intermediate_of_another_root(tmp_path: Path) -> None:
    ca = plugin_ca(tmp_path / "ca", ("east",))
    other = plugin_ca(tmp_path / "other", ("west",))
    answers = ask_trust(
        [authority("east", ca), authority("west", {**other, "root-cert.pem": ca["root-cert.pem"]})]
    )
    assert list(answers.refused) == ["west"]
    assert "failed to create CA KeyCertBundle" in answers.refused["west"]
    assert answers.reasons == {("east", "east"): None}


def test_istio_refuses_an_intermediate_that_may_not_sign(tmp_path: Path) -> None:
    ca = plugin_ca(tmp_path, ("east",), intermediate_is_ca=False)
    answers = ask_trust([authority("east", ca)])
    assert "not authorized to sign other certificates" in answers.refused["east"]


def test_the_primary_alone_signs_for_a_primary_remote_mesh(tmp_path: Path) -> None:
    spec = load_spec("multi_remote", PROJECT / "stacks")
    cas = authorities(spec, plugin_ca(tmp_path, ("east",)))
    assert [c.cluster for c in cas] == ["east"]
    answers = ask_trust(cas)
    assert answers.refused == {} and answers.trusted("east", "east")

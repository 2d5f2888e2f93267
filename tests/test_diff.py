"""``meshstack diff``: what a change does to the mesh, line by line, with risky ones flagged."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from builders import shop
from conftest import PROJECT
from meshstack.cli import main
from meshstack.diff import Outcome, diff, outcome
from meshstack.diff.keys import Kind, SubjectKey
from meshstack.diff.risk import Line, judge
from meshstack.overrides import apply_overrides
from meshstack.spec import (
    AbortFault,
    AuthorizationPolicy,
    AuthorizationRule,
    FaultInjection,
    MeshSpec,
    MtlsMode,
    PeerAuthentication,
    RequestSource,
)
from meshstack.stacks import load_spec
from scratch_repo import git


def lines(base: MeshSpec, head: MeshSpec) -> list[str]:
    return [c.line() for c in diff(base, head)]


def with_policy(spec: MeshSpec, **fields: object) -> MeshSpec:
    return spec.model_copy(update={"policy": spec.policy.model_copy(update=fields)})


def test_the_same_spec_has_no_changes(stack_specs: dict[str, MeshSpec]) -> None:
    assert diff(stack_specs["prod"], stack_specs["prod"]) == []
    assert outcome([]) is Outcome.UNCHANGED


def _unplanned(spec: MeshSpec) -> MeshSpec:
    """``spec`` with its canaries' analyses removed: their weights move by hand."""
    canaries = tuple(c.model_copy(update={"analysis": None}) for c in spec.policy.canaries)
    return spec.model_copy(update={"policy": spec.policy.model_copy(update={"canaries": canaries})})


def test_a_canary_weight_change_is_one_line(stack_specs: dict[str, MeshSpec]) -> None:
    head, problems = apply_overrides(stack_specs["prod"], {"canaryWeights": {"reviews": 25}})
    assert problems == []
    assert lines(stack_specs["prod"], head) == [
        "canary bookinfo/reviews split: v1 90% / v3 10% → v1 75% / v3 25%"
    ]


def test_a_canary_jumping_more_than_the_step_is_risky(stack_specs: dict[str, MeshSpec]) -> None:
    base = _unplanned(stack_specs["prod"])
    head, _ = apply_overrides(base, {"canaryWeights": {"reviews": 60}})
    changes = diff(base, head)
    assert [c.risk for c in changes] == ["canary moves 50 points at once (step 25)"]
    assert outcome(changes) is Outcome.RISKY


def test_a_canary_with_an_analysis_moves_by_its_plan(stack_specs: dict[str, MeshSpec]) -> None:
    """The plan (1, 10, 25, 50, 100), not the step size, decides: 10 → 25 is fine, 10 → 50
    skips a step even though it moves 40 points (under a step size of 50), 50 → 100 is
    the plan's next step though it moves 50 points, and 0 is a rollback."""
    prod = stack_specs["prod"]

    def risks(before: int, after: int) -> list[str | None]:
        base, _ = apply_overrides(prod, {"canaryWeights": {"reviews": before}})
        head, _ = apply_overrides(prod, {"canaryWeights": {"reviews": after}})
        return [c.risk for c in diff(base, head, canary_step=50)]

    assert risks(10, 25) == [None]
    assert risks(10, 50) == ["canary skips its analysis's steps: 10% → 50% (the next step is 25%)"]
    assert risks(50, 100) == [None]
    assert risks(50, 0) == [None]
    assert risks(0, 1) == [None]


def test_the_canary_step_is_configurable(
    stack_specs: dict[str, MeshSpec], capsys: pytest.CaptureFixture[str]
) -> None:
    base = _unplanned(stack_specs["prod"])
    head, _ = apply_overrides(base, {"canaryWeights": {"reviews": 20}})
    [change] = diff(base, head, canary_step=5)
    assert change.risk == "canary moves 10 points at once (step 5)"
    assert diff(base, head, canary_step=10)[0].risk is None
    args = ["--project", str(PROJECT), "diff", "prod", "--base-stack", "staging"]
    with pytest.raises(SystemExit):
        main([*args, "--canary-step", "101"])
    assert "'101' is not a whole number of points from 0 to 100" in capsys.readouterr().err


def test_weakening_mtls_is_risky() -> None:
    base = with_policy(shop(), peer_authentications=(PeerAuthentication(),))
    head = with_policy(shop(), peer_authentications=(PeerAuthentication(mode=MtlsMode.PERMISSIVE),))
    assert lines(base, head) == ["mTLS mesh: STRICT → PERMISSIVE  ⚠ mTLS weakened"]


def test_removing_default_deny_is_risky_and_shows_the_access_it_opens() -> None:
    allow = AuthorizationPolicy(
        name="allow-api",
        namespace="shop",
        workload="api",
        rules=(AuthorizationRule(sources=(RequestSource(service_accounts=("shop/web",)),)),),
    )
    base = with_policy(shop(), authorization_policies=(allow,), default_deny_namespaces=("shop",))
    head = with_policy(shop(), authorization_policies=(allow,))
    assert lines(base, head) == [
        "default-deny shop: removed (was on)  ⚠ default-deny removed",
        "shop/api → shop/web: added: allowed  ⚠ access widened",
    ]


def test_a_fault_reaching_production_is_risky(stack_specs: dict[str, MeshSpec]) -> None:
    prod = stack_specs["prod"]
    canary = prod.policy.canaries[0]
    faulty = canary.model_copy(
        update={"fault": FaultInjection(abort=AbortFault(http_status=500, percentage=5))}
    )
    head = with_policy(prod, canaries=(faulty,))
    changes = diff(prod, head, production=True)
    assert [c.line() for c in changes] == [
        'canary bookinfo/reviews fault: added: {"abort": {"http_status": 500, "percentage": 5.0}}'
        "  ⚠ fault injection reaches production"
    ]
    # Production is the stack's setting (meshstack:production), not its name.
    assert [c.risk for c in diff(prod, head, production=False)] == [None]


def test_an_image_change_is_a_plain_change(stack_specs: dict[str, MeshSpec]) -> None:
    head, _ = apply_overrides(stack_specs["prod"], {"imageTags": {"ratings": "1.21.0"}})
    changes = diff(stack_specs["prod"], head)
    assert [c.line() for c in changes] == [
        "image bookinfo/ratings/v1: docker.io/istio/examples-bookinfo-ratings-v1:1.20.3"
        " → docker.io/istio/examples-bookinfo-ratings-v1:1.21.0"
    ]
    assert outcome(changes) is Outcome.CHANGED


def test_staging_against_prod_reports_versions_add_ons_and_new_access(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--project", str(PROJECT), "diff", "prod", "--base-stack", "staging"]) == 3
    out = capsys.readouterr().out
    assert "- istio version: " not in out  # both at 1.30.4
    assert "- istiod revisions: 1-30-3@1.30.3, 1-30-4@1.30.4 → default@1.30.4" in out
    assert "- add-ons: prometheus, jaeger → prometheus, jaeger, grafana, kiali" in out
    assert "checkoutservice → hipster-shop/cartservice: added: allowed  ⚠ access widened" in out


def test_diff_against_the_previous_commit_prints_the_one_weight_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(
        PROJECT / "stacks", tmp_path / "stacks", ignore=shutil.ignore_patterns("__pycache__")
    )
    config = tmp_path / "Pulumi.prod.yaml"
    config.write_text("config:\n  meshstack:canaryWeights:\n    reviews: 10\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "base")
    config.write_text("config:\n  meshstack:canaryWeights:\n    reviews: 25\n")
    git(tmp_path, "commit", "-qam", "reviews canary to 25 %, its analysis's next step")
    code = main(["--project", str(tmp_path), "diff", "prod", "--base", "HEAD~1"])
    out = capsys.readouterr().out
    assert code == Outcome.CHANGED
    assert "1 change(s), 0 risky." in out
    assert "- canary bookinfo/reviews split: v1 90% / v3 10% → v1 75% / v3 25%" in out

    # past the next step of the plan (1, 10, 25, 50, 100): risky, whatever --canary-step says
    config.write_text("config:\n  meshstack:canaryWeights:\n    reviews: 50\n")
    code = main(
        ["--project", str(tmp_path), "diff", "prod", "--base", "HEAD~1", "--canary-step", "90"]
    )
    out = capsys.readouterr().out
    assert code == Outcome.RISKY
    assert "canary skips its analysis's steps: 10% → 50% (the next step is 25%)" in out
    # a rollback to 0 is what the analysis asks for, not a risk
    config.write_text("config:\n  meshstack:canaryWeights:\n    reviews: 0\n")
    assert main(["--project", str(tmp_path), "diff", "prod", "--base", "HEAD~1"]) == Outcome.CHANGED
    capsys.readouterr()


def test_an_unknown_ref_is_an_error_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--project", str(PROJECT), "diff", "prod", "--base", "no-such-ref"]) == 1
    assert "cannot read stack 'prod' at 'no-such-ref'" in capsys.readouterr().err


def test_a_change_of_whom_the_mesh_trusts_is_risky(stack_specs: dict[str, MeshSpec]) -> None:
    prod = stack_specs["prod"]
    jwt, *rest = prod.policy.jwt_rules
    other_issuer = jwt.model_copy(
        update={"issuer": "https://login.other.test", "jwks_uri": "https://login.other.test/k"}
    )
    changes = diff(prod, with_policy(prod, jwt_rules=(other_issuer, *rest)))
    assert {c.key: c.risk for c in changes} == {
        f"JWT {jwt.namespace}/{jwt.name} issuer": "tokens are trusted from another issuer",
        f"JWT {jwt.namespace}/{jwt.name} jwks_uri": "tokens are checked against another key set",
    }
    renamed = diff(prod, prod.model_copy(update={"trust_domain": "corp.example"}))
    assert [c.risk for c in renamed] == [
        "the trust domain changes: every workload's identity changes with it"
    ]
    aliased = diff(prod, prod.model_copy(update={"trust_domain_aliases": ("old.example",)}))
    assert [c.risk for c in aliased] == [
        "identities of another trust domain are accepted as this mesh's"
    ]


def test_moving_the_crds_to_another_stack_is_the_riskiest_change(
    stack_specs: dict[str, MeshSpec],
) -> None:
    dev = stack_specs["dev"]
    assert dev.install is not None
    own_crds = dev.model_copy(
        update={"install": dev.install.model_copy(update={"crd_stack": None})}
    )
    for base, head in ((own_crds, dev), (dev, own_crds)):
        changes = diff(base, head)
        assert [c.key for c in changes] == ["install crd_stack"]
        assert changes[0].risk is not None and "'pulumi state move'" in changes[0].risk
    judged = judge(Line(SubjectKey(Kind.INSTALL, field="crd_stack"), None, '"x"', dev, 25))
    assert judged is not None and judged[1] == 0  # leads the review: it deletes the most


def test_risk_rules_read_a_lines_key_as_data_never_as_text(
    stack_specs: dict[str, MeshSpec],
) -> None:
    """Renaming how a key prints cannot disable a rule: the rules match kind and field."""

    @dataclass(frozen=True)
    class Renamed(SubjectKey):
        def __str__(self) -> str:
            return "printed some other way"

    def risk(key: SubjectKey, before: str | None, after: str | None) -> str | None:
        judged = judge(Line(key, before, after, stack_specs["prod"], 25, production=True))
        return judged[0] if judged else None

    assert risk(Renamed(Kind.JWT, "ns/jwt", field="issuer"), '"a"', '"b"') == (
        "tokens are trusted from another issuer"
    )
    assert risk(Renamed(Kind.MTLS, "mesh"), "STRICT", "PERMISSIVE") == "mTLS weakened"
    assert risk(Renamed(Kind.ACCESS, "a → b"), None, "allowed") == "access widened"
    assert risk(Renamed(Kind.CANARY, "ns/api", part="split"), "v1 90% / v2 10%", "v1 10% / v2 90%")
    assert risk(Renamed(Kind.ROUTE, "ns/api#0", field="fault"), None, '{"abort": {}}') == (
        "fault injection reaches production"
    )


def test_a_change_to_how_clusters_are_joined_is_flagged() -> None:
    """Network, root of trust, a cluster (and its remote secrets) added or removed: each a
    risky line of its own, not one blob for the whole multi-cluster section."""
    multi = load_spec("multi", PROJECT / "stacks")
    mc = multi.multicluster
    assert mc is not None and mc.plugin_ca is not None
    east, west = mc.clusters
    moved = multi.model_copy(
        update={
            "multicluster": mc.model_copy(
                update={
                    "clusters": (east.model_copy(update={"network": "net-other"}), west),
                    "plugin_ca": mc.plugin_ca.model_copy(update={"root_cert": "newRoot"}),
                }
            )
        }
    )
    risks = {c.key: c.risk for c in diff(multi, moved)}
    assert risks["cluster east network"] and "east-west gateway" in risks["cluster east network"]
    root = risks["multi-cluster plugin_ca.root_cert"]
    assert root is not None and "root of trust" in root
    third = east.model_copy(update={"name": "south", "network": "net-south"})
    grown = multi.model_copy(
        update={"multicluster": mc.model_copy(update={"clusters": (east, west, third)})}
    )
    joined = {c.key: c.risk for c in diff(multi, grown)}
    assert joined["cluster south"] is not None and "remote secrets" in joined["cluster south"]
    left = {c.key: c.risk for c in diff(grown, multi)}
    assert left["cluster south"] is not None and "leaves" in left["cluster south"]


def test_going_primary_remote_names_the_primary_and_the_address_remotes_dial() -> None:
    """multi → multi_remote: the primary now serving west and the address west reaches it
    at, each a risky line; so is moving that address later."""
    multi = load_spec("multi", PROJECT / "stacks")
    remote = load_spec("multi_remote", PROJECT / "stacks").model_copy(update={"stack": "multi"})
    risks = {c.key: c.risk for c in diff(multi, remote)}
    assert "reconnect" in (risks["cluster west control_plane"] or "")
    assert "another address" in (risks["cluster east discovery_address"] or "")
    assert remote.multicluster is not None
    east, west = remote.multicluster.clusters
    moved = remote.model_copy(
        update={
            "multicluster": remote.multicluster.model_copy(
                update={
                    "clusters": (
                        east.model_copy(update={"discovery_address": "203.0.113.99"}),
                        west,
                    )
                }
            )
        }
    )
    assert [c.key for c in diff(remote, moved) if c.risk] == ["cluster east discovery_address"]

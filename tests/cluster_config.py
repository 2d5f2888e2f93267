"""A multi-cluster stack's config, made for real: a root CA and an intermediate per
cluster that runs istiod (openssl), set as the config keys the spec names (the keys and
kubeconfigs as secrets). Shared by the two-API-server test and ``make bench``'s UP rows.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

from engine_stack import EngineStack
from meshstack.spec import MeshSpec


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def plugin_ca(
    directory: Path, clusters: tuple[str, ...], *, intermediate_is_ca: bool = True
) -> dict[str, str]:
    """A root CA and one intermediate per cluster signed by it (PEM text by file name:
    ``root-cert.pem``, ``<cluster>-cert.pem``, ``<cluster>-key.pem``). Without
    ``intermediate_is_ca`` the intermediates may not sign (what Istio's CA refuses)."""
    directory.mkdir(parents=True, exist_ok=True)
    constraints = "CA:TRUE" if intermediate_is_ca else "CA:FALSE"
    (directory / "ca.cnf").write_text(
        f"basicConstraints=critical,{constraints}\n"
        "keyUsage=critical,keyCertSign,cRLSign,digitalSignature\n"
    )
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
             "/O=meshstack test/CN=Root CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-keyout", "root-key.pem", "-out", "root-cert.pem", cwd=directory)  # fmt: skip
    for name in clusters:
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj",
                 f"/O=meshstack test/CN=Intermediate CA {name}", "-keyout", f"{name}-key.pem",
                 "-out", f"{name}.csr", cwd=directory)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "root-cert.pem", "-CAkey",
                 "root-key.pem", "-CAcreateserial", "-days", "2", "-extfile", "ca.cnf",
                 "-out", f"{name}-cert.pem", cwd=directory)  # fmt: skip
    return {p.name: p.read_text() for p in directory.glob("*.pem")}


def set_cluster_config(
    stack: EngineStack,
    spec: MeshSpec,
    ca: Mapping[str, str],
    kubeconfigs: Mapping[str, str] | None = None,
) -> None:
    """Every config key the spec's clusters name: the root, each istiod cluster's
    intermediate (its key a secret), and each cluster's kubeconfig (a secret) when given
    (rendering reaches no cluster)."""
    mc = spec.multicluster
    assert mc is not None
    if mc.plugin_ca is not None:
        stack.set_config(f"meshstack:{mc.plugin_ca.root_cert}", ca["root-cert.pem"])
    for c in mc.clusters:
        if kubeconfigs is not None and c.kubeconfig is not None:
            stack.set_config(f"meshstack:{c.kubeconfig}", kubeconfigs[c.name], secret=True)
        if c.ca_cert is not None:
            stack.set_config(f"meshstack:{c.ca_cert}", ca[f"{c.name}-cert.pem"])
        if c.ca_key is not None:
            stack.set_config(f"meshstack:{c.ca_key}", ca[f"{c.name}-key.pem"], secret=True)

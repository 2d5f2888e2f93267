"""A real Kubernetes API server on 127.0.0.1, the way controller-runtime's envtest runs one.

etcd and kube-apiserver from meshstack's toolchain start on free loopback ports in a
scratch directory, with self-signed certificates (openssl), a service-account key
pair and an admin token; a kubeconfig for it is written beside them. There is no
kubelet, scheduler or controller manager: objects are validated (schemas, CRDs' CEL
rules, admission) and stored, and pods never run.

    python scripts/cluster.py [DIR]    start one, print KUBECONFIG=..., stop on Ctrl-C
"""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from engine import free_port, missing_tools, toolchain_bin

ADMIN_TOKEN = "meshstack-test-admin-token"
"""A static token for the cluster-admin user: a throw-away cluster on a loopback port."""


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _certificates(pki: Path) -> None:
    """A CA, the API server's serving certificate for 127.0.0.1, and the service-account
    signing key pair."""
    pki.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=meshstack-test-ca", "-keyout", "ca.key", "-out", "ca.crt", cwd=pki)  # fmt: skip
    (pki / "san.cnf").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,"
        "DNS:kubernetes.default,DNS:kubernetes.default.svc\n"
    )
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kube-apiserver",
             "-keyout", "apiserver.key", "-out", "apiserver.csr", cwd=pki)  # fmt: skip
    _openssl("x509", "-req", "-in", "apiserver.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "san.cnf", "-out", "apiserver.crt",
             cwd=pki)  # fmt: skip
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=pki)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)


@dataclass
class ApiServer:
    """A running etcd + kube-apiserver pair; :meth:`stop` ends both."""

    workdir: Path
    port: int
    kubeconfig: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    started_in_s: float = 0.0

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``kubectl`` (Debian's) against this server."""
        return subprocess.run(
            ["kubectl", f"--kubeconfig={self.kubeconfig}", *args],
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def rss_mib(self) -> float:
        """Resident memory of etcd and kube-apiserver together."""
        total = 0
        for process in self.processes:
            status = Path(f"/proc/{process.pid}/status")
            if status.is_file():
                for line in status.read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        return total / 1024

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


def _log(workdir: Path, name: str) -> int:
    return os.open(workdir / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)


def _wait_ready(server: ApiServer, deadline: float) -> None:
    context = ssl.create_default_context(cafile=str(server.workdir / "pki" / "ca.crt"))
    request = urllib.request.Request(
        f"{server.url}/readyz", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    while True:
        for process in server.processes:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{Path(str(process.args[0])).name} exited {process.returncode}; "  # type: ignore[index]
                    f"see the logs in {server.workdir}"
                )
        try:
            with urllib.request.urlopen(request, context=context, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the API server was not ready in time; logs in {server.workdir}")
        time.sleep(0.25)


def start(workdir: Path, timeout: float = 90, *, token_controller: bool = False) -> ApiServer:
    """Start etcd and kube-apiserver in ``workdir`` and wait for ``/readyz``; with
    ``token_controller``, kube-controller-manager too, running only the controller that
    fills service-account token Secrets (what a multi-cluster remote secret is read from)."""
    missing = missing_tools(
        ("etcd", "kube-apiserver", *(["kube-controller-manager"] if token_controller else []))
    )
    if missing:
        raise RuntimeError(
            f"toolchain incomplete ({', '.join(missing)}): run scripts/toolchain.sh ensure"
        )
    began = time.monotonic()
    pki = workdir / "pki"
    _certificates(pki)
    (workdir / "tokens.csv").write_text(f'{ADMIN_TOKEN},admin,admin,"system:masters"\n')
    etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
    bin_dir = toolchain_bin()
    server = ApiServer(workdir, api_port, workdir / "kubeconfig")
    etcd_url = f"http://127.0.0.1:{etcd_port}"
    server.processes.append(
        subprocess.Popen(
            [
                str(bin_dir / "etcd"),
                f"--data-dir={workdir / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-cluster=default=http://127.0.0.1:{peer_port}",
                "--unsafe-no-fsync",
                "--quota-backend-bytes=1073741824",
            ],
            stdout=_log(workdir, "etcd"),
            stderr=subprocess.STDOUT,
        )
    )
    server.processes.append(
        subprocess.Popen(
            [
                str(bin_dir / "kube-apiserver"),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={api_port}",
                f"--cert-dir={workdir / 'certs'}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                f"--token-auth-file={workdir / 'tokens.csv'}",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--service-account-issuer=https://kubernetes.default.svc",
                "--authorization-mode=RBAC",
                "--endpoint-reconciler-type=none",
                "--disable-admission-plugins=ServiceAccount",
                "--service-cluster-ip-range=10.96.0.0/16",
                "--allow-privileged=true",
                # Without the watch cache every read goes to etcd. With it, deleting a CRD
                # shortly after creating it can leave the CRD finalizer failing with
                # "storage is (re)initializing" and backing off for minutes: a destroy that
                # waits on the CRD hangs. A real cluster keeps the cache (and a CRD's life).
                "--watch-cache=false",
            ],
            stdout=_log(workdir, "kube-apiserver"),
            stderr=subprocess.STDOUT,
        )
    )
    try:
        _wait_ready(server, began + timeout)
    except BaseException:
        server.stop()
        raise
    server.kubeconfig.write_text(_kubeconfig(server.url, pki / "ca.crt"))
    if token_controller:
        server.processes.append(
            subprocess.Popen(
                [
                    str(bin_dir / "kube-controller-manager"),
                    f"--kubeconfig={server.kubeconfig}",
                    "--controllers=serviceaccount-token-controller",
                    f"--service-account-private-key-file={pki / 'sa.key'}",
                    f"--root-ca-file={pki / 'ca.crt'}",
                    "--leader-elect=false",
                    "--bind-address=127.0.0.1",
                    "--secure-port=0",
                ],
                stdout=_log(workdir, "kube-controller-manager"),
                stderr=subprocess.STDOUT,
            )
        )
    server.started_in_s = time.monotonic() - began
    return server


def _kubeconfig(url: str, ca: Path) -> str:
    return f"""\
apiVersion: v1
kind: Config
clusters:
- name: meshstack-test
  cluster:
    server: {url}
    certificate-authority: {ca}
users:
- name: admin
  user:
    token: {ADMIN_TOKEN}
contexts:
- name: meshstack-test
  context:
    cluster: meshstack-test
    user: admin
current-context: meshstack-test
"""


def main() -> int:
    workdir = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path(tempfile.mkdtemp(prefix="meshstack-apiserver-"))
    )
    workdir.mkdir(parents=True, exist_ok=True)
    server = start(workdir)
    print(f"API server ready in {server.started_in_s:.1f} s at {server.url}")
    print(f"export KUBECONFIG={server.kubeconfig}")
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

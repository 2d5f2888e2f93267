"""Rules for namespaces, apps and workloads."""

from __future__ import annotations

from collections.abc import Iterator

from meshstack.spec.formats import label_key_problem, label_value_problem
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.refs import service_key
from meshstack.spec.workloads import Probe, ProbeKind, SidecarInjection, Workload
from meshstack.validation.index import MeshIndex
from meshstack.validation.problems import Problem, declared_twice, suggestion, undeclared_namespace


def namespace_problems(spec: MeshSpec) -> Iterator[Problem]:
    seen: set[str] = set()
    for ns in spec.namespaces:
        path = f"namespaces[{ns.name}]"
        if ns.name in seen:
            yield declared_twice(f"{path}.name", f"namespace {ns.name!r}")
        seen.add(ns.name)
        if ns.injection is SidecarInjection.REVISION and not ns.revision:
            yield Problem(
                f"{path}.revision",
                "injection=REVISION needs the istiod revision or revision tag to use, "
                "e.g. revision='stable'",
            )
        for key, value in ns.labels.items():
            wrong = label_key_problem(key) or label_value_problem(value)
            if wrong:
                yield Problem(f"{path}.labels[{key}]", wrong)
        if ns.revision and ns.injection is not SidecarInjection.REVISION:
            yield Problem(
                f"{path}.injection",
                f"revision {ns.revision!r} is only used with injection=REVISION "
                f"(got {ns.injection.name}): set injection=SidecarInjection.REVISION, or "
                "remove revision",
            )


def _probe_problems(workload: Workload, path: str) -> Iterator[Problem]:
    """Probes the kubelet could never pass: a port the container does not open, an HTTP
    probe without a path, a path on a probe that sends none."""
    ports = sorted({p.container_port for p in workload.ports})
    for which in ("readiness", "liveness"):
        probe: Probe | None = getattr(workload, which)
        if probe is None:
            continue
        if probe.port not in ports:
            yield Problem(
                f"{path}.{which}.port",
                f"{probe.port} is not a container port of {workload.name!r}; its ports: {ports}",
            )
        if probe.kind is ProbeKind.HTTP and not (probe.path or "").startswith("/"):
            yield Problem(f"{path}.{which}.path", "an HTTP probe needs a path such as '/health'")
        if probe.kind is not ProbeKind.HTTP and (probe.path or probe.http_headers):
            yield Problem(
                f"{path}.{which}.path", "only HTTP probes send a path and headers; remove them"
            )


def _placement_problems(workload: Workload, path: str) -> Iterator[Problem]:
    """A Deployment needs an image per version; machines run their own software, join as
    one WorkloadGroup, and are counted by their addresses rather than replicas."""
    machines = workload.virtual_machines
    if machines is None:
        for version in workload.versions:
            if version.image is None:
                yield Problem(
                    f"{path}.versions[{version.name}].image",
                    "a workload in Kubernetes needs an image for each version (or set "
                    "virtual_machines if it runs outside Kubernetes)",
                )
        return
    for version in workload.versions:
        if version.image is not None:
            yield Problem(
                f"{path}.versions[{version.name}].image",
                "a workload on virtual machines runs the machines' own software: leave image unset",
            )
        if version.replicas is not None:
            yield Problem(
                f"{path}.versions[{version.name}].replicas",
                "machines are counted by virtual_machines.addresses, not replicas",
            )
    if len(workload.versions) > 1:
        yield Problem(
            f"{path}.versions",
            f"{len(workload.versions)} versions on virtual machines: a workload on machines "
            "has one version (one WorkloadGroup); declare another workload for other machines",
        )
    if workload.replicas != 1:
        yield Problem(
            f"{path}.replicas",
            "machines are counted by virtual_machines.addresses, not replicas",
        )
    if workload.liveness is not None:
        yield Problem(
            f"{path}.liveness",
            "no kubelet restarts a machine's process: a WorkloadGroup takes a readiness probe "
            "only; move it to readiness",
        )
    seen: set[str] = set()
    for i, address in enumerate(machines.addresses):
        if str(address) in seen:
            yield declared_twice(f"{path}.virtual_machines.addresses[{i}]", f"address {address}")
        seen.add(str(address))


def app_problems(spec: MeshSpec, index: MeshIndex) -> Iterator[Problem]:
    seen_workloads: set[tuple[str, str]] = set()
    for app in spec.apps:
        app_path = f"apps[{app.name}]"
        if app.namespace not in index.namespaces:
            yield undeclared_namespace(f"{app_path}.namespace", app.namespace, index.namespaces)
        for workload in app.workloads:
            path = f"{app_path}.workloads[{workload.name}]"
            key = (app.namespace, workload.name)
            if key in seen_workloads:
                yield declared_twice(
                    f"{path}.name", f"workload {workload.name!r} (namespace {app.namespace!r})"
                )
            seen_workloads.add(key)
            if not workload.versions:
                yield Problem(f"{path}.versions", "a workload needs at least one version")
            version_names: set[str] = set()
            for version in workload.versions:
                if version.name in version_names:
                    yield declared_twice(
                        f"{path}.versions[{version.name}]", f"version {version.name!r}"
                    )
                version_names.add(version.name)
            port_numbers: set[int] = set()
            for port in workload.ports:
                if port.number in port_numbers:
                    yield declared_twice(f"{path}.ports[{port.number}]", f"port {port.number}")
                port_numbers.add(port.number)
            yield from _probe_problems(workload, path)
            yield from _placement_problems(workload, path)
            for i, writable in enumerate(workload.security.writable_paths):
                if not writable.startswith("/"):
                    yield Problem(
                        f"{path}.security.writable_paths[{i}]",
                        f"{writable!r} is not an absolute path such as '/tmp'",
                    )
            for i, callee in enumerate(workload.calls):
                callee_key = service_key(callee, app.namespace, spec.cluster_domain)
                target = index.workloads.get(callee_key)
                if target is None:
                    yield Problem(
                        f"{path}.calls[{i}]",
                        f"calls {callee!r}, but no workload {callee_key.name!r} exists in "
                        f"namespace {callee_key.namespace!r}"
                        + suggestion(
                            callee_key.name,
                            (
                                k.name
                                for k in index.workloads
                                if k.namespace == callee_key.namespace
                            ),
                            "workload",
                        ),
                    )
                elif not target.ports:
                    yield Problem(
                        f"{path}.calls[{i}]",
                        f"calls {callee!r}, which exposes no ports (it has no Service): "
                        "give it ports, or remove the call",
                    )

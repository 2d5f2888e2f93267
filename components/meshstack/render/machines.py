"""A workload on virtual machines: its WorkloadGroup and its static WorkloadEntries.

The labels are the ones a Deployment's pods would carry (``app``, ``version``), so the
workload's Service, DestinationRule subsets and AuthorizationPolicies select the machines
exactly as they would select pods, and the mesh treats both alike.
"""

from __future__ import annotations

from collections.abc import Iterator

from meshstack.k8s import NETWORKING, K8sObject, drop_none, k8s_object
from meshstack.render.probes import probe_values
from meshstack.spec.workloads import VirtualMachines, Workload


def machine_labels(workload: Workload, version: str) -> dict[str, str]:
    return {"app": workload.name, "version": version}


def workload_group(
    workload: Workload, machines: VirtualMachines, version: str, namespace: str
) -> K8sObject:
    """The template a machine's proxy joins with (``istioctl x workload entry configure``
    reads it) and, under auto-registration, the source of the machine's WorkloadEntry."""
    return k8s_object(
        NETWORKING,
        "WorkloadGroup",
        f"{workload.name}-{version}",
        namespace,
        spec=drop_none(
            {
                "metadata": {"labels": machine_labels(workload, version)},
                "template": drop_none(
                    {"serviceAccount": workload.identity, "network": machines.network}
                ),
                "probe": probe_values(workload.readiness),
            }
        ),
    )


def workload_entry(
    workload: Workload, machines: VirtualMachines, version: str, address: str, namespace: str
) -> K8sObject:
    """One statically known machine, named after its address."""
    suffix = address.replace(".", "-").replace(":", "-")
    return k8s_object(
        NETWORKING,
        "WorkloadEntry",
        f"{workload.name}-{version}-{suffix}",
        namespace,
        spec=drop_none(
            {
                "address": address,
                "labels": machine_labels(workload, version),
                "serviceAccount": workload.identity,
                "network": machines.network,
            }
        ),
    )


def machine_objects(workload: Workload, namespace: str) -> Iterator[K8sObject]:
    """Validation allows one version on machines: its group, then one entry per address."""
    machines = workload.virtual_machines
    if machines is None:
        return
    for version in workload.versions:
        yield workload_group(workload, machines, version.name, namespace)
        for address in machines.addresses:
            yield workload_entry(workload, machines, version.name, str(address), namespace)

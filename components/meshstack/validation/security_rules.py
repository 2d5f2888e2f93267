"""Rules for mTLS, authorization and JWT."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from meshstack.spec.edge import GatewayApi
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.refs import ServiceKey, service_account_key
from meshstack.spec.security import AuthorizationAction, AuthorizationPolicy, AuthorizationRule
from meshstack.validation.index import MeshIndex
from meshstack.validation.problems import Problem, suggestion, undeclared_namespace


class SecurityRules:
    def __init__(self, spec: MeshSpec, index: MeshIndex) -> None:
        self.spec = spec
        self.index = index

    def _namespace(self, namespace: str, path: str) -> Iterator[Problem]:
        if namespace not in self.index.config_namespaces:
            yield undeclared_namespace(path, namespace, self.index.config_namespaces)

    def _workload(self, workload: str | None, namespace: str, path: str) -> Iterator[Problem]:
        if workload is not None and ServiceKey(namespace, workload) not in self.index.selectable:
            yield Problem(
                path, f"no workload or gateway {workload!r} runs in namespace {namespace!r}"
            )

    def _attached_to(
        self, workload: str | None, gateway: str | None, namespace: str, path: str
    ) -> Iterator[Problem]:
        """A rule's pods (``workload``) or Gateway API gateway (``gateway``) exist, and an
        installed ingress gateway still serves a route."""
        yield from self._workload(workload, namespace, f"{path}.workload")
        if gateway is not None:
            yield from self._gateway(gateway, workload, namespace, f"{path}.gateway")
        elif workload is not None and workload in self._idle_ingress_gateways(namespace):
            yield Problem(
                f"{path}.workload",
                f"{workload!r} serves no Gateway (every gateway on it moved to the Gateway "
                "API): this rule protects nothing; attach it to a Gateway API gateway with "
                "gateway='<name>' in that gateway's namespace",
            )

    def _gateway(
        self, ref: str, workload: str | None, namespace: str, path: str
    ) -> Iterator[Problem]:
        found = self.spec.gateway(ref, namespace)
        if workload is not None:
            yield Problem(path, "attach to a workload or to a gateway, not both")
        elif found is None:
            yield Problem(path, f"no Gateway {ref!r} is declared in policy.gateways")
        elif found.namespace != namespace:
            yield Problem(
                path,
                f"targetRefs reach only the policy's own namespace: declare it in namespace "
                f"{found.namespace!r}",
            )
        elif found.api is not GatewayApi.KUBERNETES:
            yield Problem(
                path,
                f"{found.name!r} is an Istio gateway on the installed deployment "
                f"{found.workload!r}: select it with workload={found.workload!r} in its namespace",
            )

    def _idle_ingress_gateways(self, namespace: str) -> set[str]:
        """Installed gateways in ``namespace`` that no Istio Gateway and no egress route uses."""
        policy = self.spec.policy
        used = {g.workload for g in policy.gateways if g.api is GatewayApi.ISTIO}
        used |= {e.egress_gateway for e in policy.external_services if e.via_egress_gateway}
        return {
            g.name
            for g in self.spec.gateway_workloads
            if g.namespace == namespace and g.name not in used
        }

    def peer_authentications(self) -> Iterator[Problem]:
        mesh_wide: list[str] = []
        for i, pa in enumerate(self.spec.policy.peer_authentications):
            path = f"policy.peer_authentications[{i}]"
            if self.spec.mtls_scope(pa) == (None, None):
                mesh_wide.append(path)
                if len(mesh_wide) > 1:
                    yield Problem(
                        path,
                        f"a second mesh-wide PeerAuthentication (the first is {mesh_wide[0]}); "
                        "Istio honours only one: set namespace= to scope this one",
                    )
                continue
            if pa.namespace is None:
                yield Problem(f"{path}.workload", "a workload-level policy needs its namespace")
                continue
            yield from self._namespace(pa.namespace, f"{path}.namespace")
            yield from self._workload(pa.workload, pa.namespace, f"{path}.workload")
            if pa.port_modes and pa.workload is None:
                yield Problem(
                    f"{path}.port_modes",
                    "port-level mTLS needs a workload (Istio requires a selector): set "
                    "workload=, or set mode for the whole namespace instead",
                )
            ports = self.index.container_ports.get(
                ServiceKey(pa.namespace, pa.workload or ""), set()
            )
            for port in pa.port_modes:
                if not 1 <= port <= 65535:
                    yield Problem(
                        f"{path}.port_modes[{port}]", "expected a port number between 1 and 65535"
                    )
                elif pa.workload is not None and port not in ports:
                    yield Problem(
                        f"{path}.port_modes[{port}]",
                        f"{pa.workload!r} has no container port {port}; its ports: {sorted(ports)}",
                    )

    def _rule_ports(
        self, ap: AuthorizationPolicy, rule: AuthorizationRule, rule_path: str
    ) -> Iterator[Problem]:
        """A rule's ports are the ports the workload's proxy receives on (its container
        ports): one the callee does not serve makes the rule match nothing."""
        if ap.gateway is not None:
            return
        if ap.workload is not None:
            served = self.index.container_ports.get(ServiceKey(ap.namespace, ap.workload))
            callee = repr(ap.workload)
        else:
            served = {
                port
                for key, ports in self.index.container_ports.items()
                if key.namespace == ap.namespace
                for port in ports
            }
            callee = f"no workload in {ap.namespace!r}"
        if not served:
            return  # not a workload of the mesh: reported elsewhere, or a machine's
        for o, operation in enumerate(rule.operations):
            for p, port in enumerate(operation.ports):
                if port not in served:
                    listed = ", ".join(str(n) for n in sorted(served))
                    said = (
                        f"{callee} serves no port {port}, so this rule never matches; "
                        f"its ports: {listed}"
                        if ap.workload
                        else f"{callee} serves port {port}, so this rule never matches; "
                        f"ports served there: {listed}"
                    )
                    yield Problem(f"{rule_path}.operations[{o}].ports[{p}]", said)

    def authorization_policies(self) -> Iterator[Problem]:
        for ap in self.spec.policy.authorization_policies:
            path = f"policy.authorization_policies[{ap.name}]"
            yield from self._namespace(ap.namespace, f"{path}.namespace")
            yield from self._attached_to(ap.workload, ap.gateway, ap.namespace, path)
            if not ap.rules and ap.action is not AuthorizationAction.ALLOW:
                yield Problem(
                    f"{path}.rules",
                    f"a {ap.action.value} policy without rules does nothing: add rules, or remove it",
                )
            for r, rule in enumerate(ap.rules):
                rule_path = f"{path}.rules[{r}]"
                if not rule.sources and not rule.operations and not rule.match_all:
                    yield Problem(
                        rule_path,
                        "an empty rule matches every request; give sources or operations, "
                        "or set match_all=True if that is really meant",
                    )
                for s, source in enumerate(rule.sources):
                    for a, account in enumerate(source.service_accounts):
                        key = service_account_key(account, ap.namespace)
                        if key not in self.index.service_accounts:
                            yield Problem(
                                f"{rule_path}.sources[{s}].service_accounts[{a}]",
                                unknown_account(account, key, self.index.service_accounts),
                            )
                    for n, namespace in enumerate(source.namespaces):
                        if namespace not in self.index.namespaces:
                            yield undeclared_namespace(
                                f"{rule_path}.sources[{s}].namespaces[{n}]",
                                namespace,
                                self.index.namespaces,
                                why="callers run in declared namespaces",
                            )
                yield from self._rule_ports(ap, rule, rule_path)
        for i, namespace in enumerate(self.spec.policy.default_deny_namespaces):
            yield from self._namespace(namespace, f"policy.default_deny_namespaces[{i}]")

    def jwt_rules(self) -> Iterator[Problem]:
        for jwt in self.spec.policy.jwt_rules:
            path = f"policy.jwt_rules[{jwt.name}]"
            yield from self._namespace(jwt.namespace, f"{path}.namespace")
            yield from self._attached_to(jwt.workload, jwt.gateway, jwt.namespace, path)
            if not jwt.jwks_uri.startswith("https://"):
                yield Problem(
                    f"{path}.jwks_uri",
                    f"{jwt.jwks_uri!r} should be an https:// URL (keys fetched in clear can be "
                    "forged): write the issuer's https:// JWKS address",
                )
            if (
                not jwt.require_token
                and jwt.namespace not in self.index.request_principal_namespaces
            ):
                yield Problem(
                    f"{path}.require_token",
                    "a RequestAuthentication alone accepts requests that carry no token: set "
                    "require_token=True, or add an AuthorizationPolicy in this namespace whose "
                    "sources name request_principals",
                )


def unknown_account(written: str, key: ServiceKey, known: Iterable[ServiceKey]) -> str:
    """Why ``written`` names no service account, and what would be valid."""
    where = (
        f"in namespace {key.namespace!r}"
        if "/" in written
        else f"in namespace {key.namespace!r} (the policy's own: a bare name is read there; "
        "write 'namespace/name' for another)"
    )
    return f"no workload runs as service account {key.name!r} {where}" + suggestion(
        f"{key.namespace}/{key.name}", (f"{k.namespace}/{k.name}" for k in known), "service account"
    )

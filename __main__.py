"""The Pulumi program: load this stack's typed spec, apply its config, deploy it.

Everything interesting lives in the ``meshstack`` package; this file only
connects Pulumi's stack and config to it.
"""

from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
from meshstack.components import MeshStack, MeshStackArgs
from meshstack.overrides import CONFIG_NAMESPACE, OVERRIDE_KEYS, config_value
from meshstack.runtime import tune_garbage_collector
from meshstack.stacks import StackLoadError, StackNotFound, resolve_stack
from meshstack.validation import SpecInvalid

tune_garbage_collector()
stack = pulumi.get_stack()
config = pulumi.Config(CONFIG_NAMESPACE)
overrides = {
    key: value for key in OVERRIDE_KEYS if (value := config_value(config.get(key))) is not None
}
project_dir = Path(__file__).parent
# pulumi.RunError: the engine shows the message alone, without a Python traceback.
try:
    spec, problems = resolve_stack(stack, project_dir, overrides)
except (StackNotFound, StackLoadError) as error:
    raise pulumi.RunError(str(error)) from None
if problems:
    raise pulumi.RunError(str(SpecInvalid(stack, problems)))

render_dir = config.get("renderDir") or ""
provider = k8s.Provider("render", render_yaml_to_directory=render_dir) if render_dir else None
mesh = MeshStack(
    "mesh",
    MeshStackArgs(
        spec=spec,
        protect_namespaces=stack == "prod",
        provider=provider,
        base_dir=project_dir,
        # A `pulumi config set --secret` value, or None: then pulumi_random generates it.
        grafana_admin_password=config.get_secret("grafanaAdminPassword"),
        skip_await=config.get_bool("skipAwait") or False,
    ),
)
pulumi.export("namespaces", sorted(mesh.namespaces.by_name))
pulumi.export("istio_version", spec.install.version if spec.install else None)
pulumi.export("addons", list(spec.addons.enabled))
if mesh.addons is not None and mesh.addons.grafana_admin_password is not None:
    pulumi.export("grafana_admin_password", mesh.addons.grafana_admin_password)  # a secret
pulumi.export("render_dir", render_dir or None)

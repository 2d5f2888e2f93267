"""``python -m meshstack.policy_pack``: the pack, as ``meshstack-policy-pack`` serves it."""

from meshstack.policy_pack import serve

serve()

"""Kubernetes and container value formats, as the API server and image tools parse them.

The API server refuses a Deployment whose CPU request is ``100 m`` or whose label value
has a ``/``, and a kubelet cannot pull ``Tools/Tool:1``; ``pulumi up`` would learn that
half-way through. These predicates follow the grammars of Kubernetes' ``resource.Quantity``,
``validation.IsQualifiedName``/``IsValidLabelValue``/``IsDNS1123Subdomain`` and the
container image reference (``distribution/reference``), so validation can refuse such
values first, at their field path. :data:`Quantity`, :data:`ImageReference` and
:data:`Hostname` attach them to spec fields.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from meshstack.spec.base import FieldCheck

_QUANTITY = re.compile(
    r"^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$"
)
_LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_IMAGE = re.compile(
    rf"^(?P<name>(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?"
    r"(?:@(?P<algorithm>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*):(?P<hex>[0-9a-fA-F]{32,}))?$"
)
_DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}


def is_quantity(value: str) -> bool:
    """``100m``, ``1.5``, ``64Mi``, ``1e3``: a Kubernetes resource quantity."""
    return bool(_QUANTITY.match(value))


def is_image_reference(value: str) -> bool:
    """``[registry[:port]/]path[:tag][@algorithm:hex]`` with lower-case path components."""
    found = _IMAGE.match(value)
    if found is None or len(found["name"]) > 255:
        return False
    algorithm = found["algorithm"]
    return algorithm is None or len(found["hex"]) == _DIGEST_LENGTHS.get(
        algorithm, len(found["hex"])
    )


def is_image_tag(value: str) -> bool:
    """The tag part of an image reference: up to 128 letters, digits, ``_``, ``.``, ``-``,
    not starting with ``.`` or ``-``."""
    return re.fullmatch(_TAG, value) is not None


def is_dns_subdomain(value: str) -> bool:
    """Lower-case DNS labels joined by dots, at most 253 characters (DNS-1123 subdomain)."""
    return len(value) <= 253 and bool(_DNS_SUBDOMAIN.match(value))


def is_hostname(value: str) -> bool:
    """A DNS name, optionally with a leading ``*.`` wildcard, or ``*`` alone."""
    return value == "*" or is_dns_subdomain(value.removeprefix("*."))


def is_ip(value: str) -> bool:
    """An IP address, v4 or v6."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_address(value: str) -> bool:
    """An IP address (v4 or v6) or a DNS name without wildcards: what a client dials."""
    return is_ip(value) or is_dns_subdomain(value)


def is_gateway_host(value: str) -> bool:
    """A Gateway server host: :func:`is_hostname`, optionally after ``namespace/``, ``./`` or ``*/``."""
    scope, slash, host = value.rpartition("/")
    return is_hostname(host) and (not slash or scope in (".", "*") or is_dns_subdomain(scope))


def label_key_problem(key: str) -> str | None:
    """Why ``key`` is no label key (``[prefix/]name``), or None when it is one."""
    prefix, slash, name = key.rpartition("/")
    if slash and not is_dns_subdomain(prefix):
        return f"{key!r} is not a valid label key: its prefix {prefix!r} must be a DNS subdomain"
    if len(name) > 63 or not _LABEL_NAME.match(name):
        return (
            f"{key!r} is not a valid label key: the name must be at most 63 letters, digits, "
            "'-', '_' or '.', beginning and ending with a letter or digit (an optional "
            "DNS-subdomain prefix and '/' may come first)"
        )
    return None


def label_value_problem(value: str) -> str | None:
    """Why ``value`` is no label value (empty, or like a label name), or None when it is one."""
    if value == "" or (len(value) <= 63 and _LABEL_NAME.match(value)):
        return None
    return (
        f"{value!r} is not a valid label value: at most 63 letters, digits, '-', '_' or '.', "
        "beginning and ending with a letter or digit (or empty)"
    )


Quantity = Annotated[
    str,
    FieldCheck("a Kubernetes quantity such as '100m', '0.5', '64Mi' or '1G'", is_quantity),
]
ImageReference = Annotated[
    str,
    FieldCheck(
        "an image reference such as 'registry.example:5000/team/app:1.2.3' or "
        "'app@sha256:<64 hex digits>' (lower-case path, tag of letters, digits, '_', '.', '-')",
        is_image_reference,
    ),
]
ImageTag = Annotated[
    str,
    FieldCheck(
        "an image tag: up to 128 letters, digits, '_', '.' and '-', not starting with '.' "
        "or '-' (e.g. 'v1.2.3')",
        is_image_tag,
    ),
]
Hostname = Annotated[
    str,
    FieldCheck(
        "a DNS name in lower case such as 'shop.example.com', '*.example.com' or '*'", is_hostname
    ),
]
IpAddress = Annotated[str, FieldCheck("an IP address such as '203.0.113.10'", is_ip)]
NetworkAddress = Annotated[
    str,
    FieldCheck(
        "an IP address such as '203.0.113.10' or a DNS name such as 'istiod.example.com'",
        is_address,
    ),
]
GatewayHost = Annotated[
    str,
    FieldCheck(
        "a DNS name in lower case such as 'shop.example.com', '*.example.com' or '*', "
        "optionally scoped as 'namespace/host'",
        is_gateway_host,
    ),
]

"""Allowed IP ranges of a company (domain R8: software supports the 取扱区域 by letting its
pages be reached only from registered terminals or networks)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_network(value: str) -> Network:
    """An IPv4 or IPv6 range in CIDR form; a single address is a range of one. Host bits are
    dropped (``192.0.2.7/24`` is ``192.0.2.0/24``), as people often type their own address."""
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ValidationError(
            _("Enter an IP address or range such as 192.0.2.0/24 or 2001:db8::/32."),
            code="invalid_network",
        ) from None


def normalise_network(value: str) -> str:
    return str(parse_network(value))


def validate_network(value: str) -> None:
    parse_network(value)


def address_allowed(address: str, networks: Iterable[str]) -> bool:
    """Whether ``address`` lies in one of ``networks``. An address that cannot be read is in
    none (fail closed); an IPv4 client seen on a dual-stack socket as ``::ffff:a.b.c.d`` is
    matched as the IPv4 address it is."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    candidates = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        candidates.append(ip.ipv4_mapped)
    for cidr in networks:
        network = ipaddress.ip_network(cidr, strict=False)
        if any(c.version == network.version and c in network for c in candidates):
            return True
    return False

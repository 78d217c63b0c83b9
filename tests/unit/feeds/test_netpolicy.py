"""is_public_address: which addresses a feed may be fetched from when private feeds are off."""

from __future__ import annotations

import pytest

from feeds.netpolicy import is_public_address


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1",  # loopback
        "127.8.9.10",
        "::1",
        "10.0.0.5",  # private
        "172.16.3.4",
        "192.168.1.1",
        "fd00::1",  # unique local
        "169.254.169.254",  # link-local: cloud metadata
        "fe80::1",
        "fe80::1%eth0",
        "224.0.0.1",  # multicast
        "ff02::1",
        "240.0.0.1",  # reserved
        "255.255.255.255",
        "0.0.0.0",  # unspecified
        "::",
        "100.64.0.1",  # shared address space (carrier-grade NAT)
        "100.127.255.254",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:8.8.8.8",
        "fec0::1",  # site-local
        "2002:7f00:1::",  # 6to4 wrapping 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 wrapping 10.0.0.1
        "192.0.2.10",  # documentation
        "2001:db8::1",
        "not-an-ip",
        "",
    ],
)
def test_non_public_addresses_are_refused(ip):
    assert is_public_address(ip) is False


@pytest.mark.parametrize(
    "ip",
    ["8.8.8.8", "95.59.1.10", "2.133.0.1", "100.128.0.1", "2a00:1450:4001:80b::200e"],
)
def test_public_addresses_are_allowed(ip):
    assert is_public_address(ip) is True

"""Where feeds may live: public unicast addresses only, unless private feeds are allowed."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from feeds.models import FetchError, FetchErrorKind

_SHARED_V4 = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, RFC 6598
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOOKUP_TIMEOUT = 10.0


class PrivateAddressError(OSError):
    """A host that resolves only to addresses the policy forbids."""


def is_public_address(ip: str) -> bool:
    """Tell whether an IP literal is a public unicast address a feed may be fetched from."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None or addr.is_site_local:
            return False
        embedded = addr.sixtofour or (
            ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF) if addr in _NAT64 else None
        )
        if embedded is not None and not is_public_address(str(embedded)):
            return False
    elif addr in _SHARED_V4:
        return False
    return not (
        addr.is_loopback
        or addr.is_private
        or addr.is_link_local
        or addr.is_multicast
        or addr.is_reserved
        or addr.is_unspecified
    ) and bool(addr.is_global)


class PublicOnlyResolver(AbstractResolver):
    """An aiohttp resolver that drops non-public addresses, so every hop and re-resolution is
    checked at connect time (redirects, DNS rebinding)."""

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve host and keep only public addresses; raise PrivateAddressError if none."""
        results = await self._inner.resolve(host, port, family)
        public = [r for r in results if is_public_address(r["host"])]
        if not public:
            raise PrivateAddressError(f"{host} resolves only to non-public addresses")
        return public

    async def close(self) -> None:
        """Close the wrapped resolver."""
        await self._inner.close()


def public_socket_factory(addr_info: Any) -> socket.socket:
    """Create a socket only for a public address; literal-IP URLs never reach the resolver."""
    family, type_, proto, _, sockaddr = addr_info
    if not is_public_address(sockaddr[0]):
        raise PrivateAddressError(f"{sockaddr[0]} is not a public address")
    return socket.socket(family=family, type=type_, proto=proto)


def http_url(url: str) -> URL:
    """Parse an absolute http(s) URL with a host, or raise FetchError(BAD_URL)."""
    try:
        parsed = URL(url)
        host = parsed.raw_host
    except (ValueError, UnicodeError) as exc:
        raise FetchError(FetchErrorKind.BAD_URL, f"{url!r}: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise FetchError(FetchErrorKind.BAD_URL, f"{url!r}: only http and https are supported")
    if not host:
        raise FetchError(FetchErrorKind.BAD_URL, f"{url!r}: no host")
    return parsed


def _literal_ip(host: str) -> str | None:
    """Return host if it is an IP literal; reject legacy numeric forms such as 2130706433."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        socket.inet_aton(host)
    except OSError:
        return None
    raise FetchError(FetchErrorKind.BAD_URL, f"{host!r} is not a canonical IPv4 address")


async def check_url(url: str, *, allow_private: bool) -> None:
    """Fail early with BAD_URL, DNS or PRIVATE_ADDRESS so an admin gets a clear reason."""
    host = http_url(url).raw_host or ""
    literal = _literal_ip(host)
    if literal is not None:
        if not allow_private and not is_public_address(literal):
            raise FetchError(FetchErrorKind.PRIVATE_ADDRESS, f"{literal} is not a public address")
        return
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(_LOOKUP_TIMEOUT):
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, TimeoutError) as exc:
        reason = str(exc) or "lookup timed out"
        raise FetchError(FetchErrorKind.DNS, f"{host}: {reason}") from exc
    if not allow_private and not any(is_public_address(str(i[4][0])) for i in infos):
        raise FetchError(
            FetchErrorKind.PRIVATE_ADDRESS, f"{host} resolves only to non-public addresses"
        )

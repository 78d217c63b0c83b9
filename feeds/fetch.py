"""Fetch feed documents over HTTP: conditional GET, capped bodies, classified failures."""

from __future__ import annotations

import asyncio
import errno
from dataclasses import dataclass

import aiohttp
from yarl import URL

from feeds.models import FetchError, FetchErrorKind, FetchResult
from feeds.netpolicy import (
    PrivateAddressError,
    PublicOnlyResolver,
    http_url,
    public_socket_factory,
)

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
)


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Timeouts, size cap, redirect cap and connection limits for feed fetching."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    limit: int = 100
    limit_per_host: int = 4
    user_agent: str = "Habar/0.1 (+https://github.com/habar-bot/habar; RSS digest bot)"


def make_session(limits: FetchLimits, *, allow_private: bool) -> aiohttp.ClientSession:
    """Build the one shared feed session; the composition root owns and closes it."""
    policy = (
        {}
        if allow_private
        else {
            "resolver": PublicOnlyResolver(),
            "socket_factory": public_socket_factory,
        }
    )
    connector = aiohttp.TCPConnector(
        limit=limits.limit, limit_per_host=limits.limit_per_host, **policy
    )
    # sock_connect rather than connect: waiting for a pooled slot is not the server's fault.
    timeout = aiohttp.ClientTimeout(
        total=limits.total_timeout,
        sock_connect=limits.connect_timeout,
        sock_read=limits.read_timeout,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        headers={"User-Agent": limits.user_agent, "Accept": _ACCEPT},
        auto_decompress=True,
    )


class Fetcher:
    """Fetches one feed URL at a time through a shared session, within FetchLimits."""

    def __init__(self, session: aiohttp.ClientSession, limits: FetchLimits) -> None:
        self._session = session
        self._limits = limits

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET url (conditionally when validators are given) or raise a classified FetchError."""
        target = http_url(url)
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            async with asyncio.timeout(self._limits.total_timeout):
                for _ in range(self._limits.max_redirects + 1):
                    async with self._session.get(
                        target, headers=headers, allow_redirects=False
                    ) as resp:
                        location = resp.headers.get("Location")
                        if resp.status in _REDIRECT_STATUSES and location:
                            target = _redirect_target(target, location)
                            continue
                        return await self._result(url, resp, etag, last_modified)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise classify_error(exc) from exc
        raise FetchError(
            FetchErrorKind.TOO_MANY_REDIRECTS, f"more than {self._limits.max_redirects} redirects"
        )

    async def _result(
        self,
        url: str,
        resp: aiohttp.ClientResponse,
        etag: str | None,
        last_modified: str | None,
    ) -> FetchResult:
        headers = {k.lower(): v for k, v in resp.headers.items()}
        final_url = str(resp.url)
        if resp.status == 304:
            # A 304 may omit validators; the ones we sent are still current.
            return FetchResult(
                url=url,
                final_url=final_url,
                not_modified=True,
                headers=headers,
                etag=headers.get("etag", etag),
                last_modified=headers.get("last-modified", last_modified),
            )
        if not 200 <= resp.status < 300:
            raise FetchError(
                FetchErrorKind.HTTP_STATUS, f"HTTP {resp.status} {resp.reason}", resp.status
            )
        body = await _read_capped(resp, self._limits.max_bytes)
        return FetchResult(
            url=url,
            final_url=final_url,
            not_modified=False,
            body=body,
            headers=headers,
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
        )


def _redirect_target(current: URL, location: str) -> URL:
    """Resolve a Location header against the current URL; only http(s) targets are followed."""
    try:
        joined = current.join(URL(location))
    except (ValueError, UnicodeError) as exc:
        raise FetchError(FetchErrorKind.BAD_URL, f"bad redirect {location!r}: {exc}") from exc
    return http_url(str(joined))


async def _read_capped(resp: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """Read the body, failing as soon as it exceeds max_bytes (decompressed)."""
    declared = resp.content_length
    if declared is not None and declared > max_bytes:
        raise FetchError(
            FetchErrorKind.TOO_LARGE, f"Content-Length {declared} > {max_bytes} bytes"
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_any():
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(FetchErrorKind.TOO_LARGE, f"body exceeds {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def classify_error(exc: BaseException) -> FetchError:
    """Map an aiohttp/socket/timeout exception to a FetchError kind."""
    if isinstance(exc, TimeoutError):  # aiohttp's ServerTimeoutError is one too
        return FetchError(FetchErrorKind.TIMEOUT, str(exc) or "timed out")
    if isinstance(exc, aiohttp.InvalidURL):
        return FetchError(FetchErrorKind.BAD_URL, str(exc))
    if isinstance(exc, aiohttp.ClientConnectorError):
        cause = exc.os_error
        if isinstance(cause, PrivateAddressError):
            return FetchError(FetchErrorKind.PRIVATE_ADDRESS, str(cause))
        if isinstance(exc, aiohttp.ClientConnectorDNSError):
            return FetchError(FetchErrorKind.DNS, f"{exc.host}: {cause.strerror or cause}")
        if isinstance(cause, ConnectionRefusedError) or cause.errno == errno.ECONNREFUSED:
            return FetchError(FetchErrorKind.REFUSED, f"{exc.host}:{exc.port} refused")
    return FetchError(FetchErrorKind.NETWORK, f"{type(exc).__name__}: {exc}")

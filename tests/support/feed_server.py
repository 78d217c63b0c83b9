"""A local HTTP feed server for tests, e2e runs and benchmarks (aiohttp.web on 127.0.0.1).

Usage: `async with FeedServer() as srv:` then `url = srv.add("/news.xml", rss([...]))`,
fetch url, and check `srv.hits["/news.xml"]`, `srv.last_headers[...]` or `srv.log`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gzip
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "feeds"
_PAD = b"<!-- padding padding padding padding padding padding padding padding -->\n" * 880


@dataclass(slots=True)
class _Resource:
    kind: str  # "doc" | "redirect" | "endless" | "huge"
    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    size: int = 0
    claim_length: bool = True
    gzipped: bytes | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    """One request the server answered."""

    path: str
    status: int
    headers: CIMultiDict[str]
    gzip: bool


class FeedServer:
    """Serves registered paths with ETag/Last-Modified, redirects, delays and huge bodies."""

    def __init__(self, *, gzip: bool = False, hosts: tuple[str, ...] = ("127.0.0.1",)) -> None:
        self.gzip = gzip  # serve gzip to clients that accept it
        self.hosts = hosts  # loopback addresses to listen on, all on one port
        self.hits: collections.Counter[str] = collections.Counter()
        self.last_headers: dict[str, CIMultiDict[str]] = {}
        self.log: list[Hit] = []
        self.sent: collections.Counter[str] = collections.Counter()  # body bytes streamed
        self._routes: dict[str, _Resource] = {}
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def __aenter__(self) -> FeedServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.hosts[0], 0, backlog=2048)
        await site.start()
        self.port = self._runner.addresses[0][1]
        for host in self.hosts[1:]:
            await web.TCPSite(self._runner, host, self.port, backlog=2048).start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing.set()  # wakes slow and endless handlers
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str) -> str:
        """Absolute URL of path on this server."""
        return f"http://{self.hosts[0]}:{self.port}{path}"

    def add(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str = "application/rss+xml; charset=utf-8",
        etag: str | None = "auto",
        last_modified: str | datetime | None = None,
        status: int = 200,
        delay: float = 0,
        headers: dict[str, str] | None = None,
    ) -> str:
        """Serve body at path (replacing what was there); returns the URL."""
        if etag == "auto":
            etag = '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'
        if isinstance(last_modified, datetime):
            last_modified = format_datetime(last_modified.astimezone(UTC), usegmt=True)
        self._routes[path] = _Resource(
            "doc", body, content_type, etag, last_modified, status, delay, dict(headers or {})
        )
        return self.url(path)

    def add_file(self, path: str, name: str, **kwargs: Any) -> str:
        """Serve tests/data/feeds/<name> at path; keyword arguments as for add()."""
        return self.add(path, (DATA_DIR / name).read_bytes(), **kwargs)

    def redirect(self, path: str, to_path: str, status: int = 301) -> str:
        """Answer path with a redirect to to_path (relative or absolute)."""
        self._routes[path] = _Resource("redirect", status=status, headers={"Location": to_path})
        return self.url(path)

    def redirect_chain(self, prefix: str, hops: int, final: str) -> str:
        """Build prefix/0 -> prefix/1 -> ... -> final with `hops` redirects; returns the start."""
        for i in range(hops):
            self.redirect(f"{prefix}/{i}", final if i == hops - 1 else f"{prefix}/{i + 1}")
        return self.url(f"{prefix}/0")

    def endless(self, path: str) -> str:
        """Stream a chunked body that never ends (until the client leaves or we close)."""
        self._routes[path] = _Resource("endless", content_type="application/rss+xml")
        return self.url(path)

    def huge(self, path: str, size: int, *, claim_length: bool = True) -> str:
        """Stream size bytes of padding without allocating them, with or without Content-Length."""
        self._routes[path] = _Resource(
            "huge", content_type="application/rss+xml", size=size, claim_length=claim_length
        )
        return self.url(path)

    def slow(self, path: str, delay: float, body: bytes | None = None) -> str:
        """Wait delay seconds before sending headers (for timeout tests)."""
        if body is None and path in self._routes:
            self._routes[path].delay = delay
            return self.url(path)
        return self.add(path, body if body is not None else rss([]), delay=delay)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hits[path] += 1
        self.last_headers[path] = CIMultiDict(request.headers)
        res = self._routes.get(path)
        if res is None:
            return self._record(request, web.Response(status=404, text="not found"), False)
        if res.delay:
            await self._pause(res.delay)
        if res.kind == "redirect":
            return self._record(
                request, web.Response(status=res.status, headers=res.headers), False
            )
        if res.kind in ("endless", "huge"):
            return await self._stream(request, res)
        return self._record(request, *self._document(request, res))

    def _document(self, request: web.Request, res: _Resource) -> tuple[web.Response, bool]:
        headers = dict(res.headers)
        if res.etag:
            headers["ETag"] = res.etag
        if res.last_modified:
            headers["Last-Modified"] = res.last_modified
        if res.status == 200 and _not_modified(request, res):
            return web.Response(status=304, headers=headers), False
        body = res.body
        zipped = self.gzip and "gzip" in request.headers.get("Accept-Encoding", "")
        if zipped:
            if res.gzipped is None:
                res.gzipped = gzip.compress(res.body, compresslevel=5, mtime=0)
            body = res.gzipped
            headers["Content-Encoding"] = "gzip"
            headers["Vary"] = "Accept-Encoding"
        headers["Content-Type"] = res.content_type
        return web.Response(status=res.status, body=body, headers=headers), zipped

    async def _stream(self, request: web.Request, res: _Resource) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": res.content_type})
        if res.kind == "huge" and res.claim_length:
            resp.content_length = res.size
        else:
            resp.enable_chunked_encoding()
        self._record(request, resp, False)
        await resp.prepare(request)
        remaining = res.size if res.kind == "huge" else -1
        try:
            while remaining != 0 and not self._closing.is_set():
                chunk = _PAD if remaining < 0 else _PAD[:remaining]
                await resp.write(chunk)
                self.sent[request.path] += len(chunk)
                remaining = -1 if remaining < 0 else remaining - len(chunk)
            if remaining == 0:
                await resp.write_eof()
        except (ConnectionError, RuntimeError):
            pass  # the client hung up, which is what these paths are for
        return resp

    async def _pause(self, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), delay)

    def _record(
        self, request: web.Request, resp: web.StreamResponse, zipped: bool
    ) -> web.StreamResponse:
        self.log.append(Hit(request.path, resp.status, CIMultiDict(request.headers), zipped))
        return resp


def _not_modified(request: web.Request, res: _Resource) -> bool:
    """RFC 9110: If-None-Match wins over If-Modified-Since."""
    inm = request.headers.get("If-None-Match")
    if inm is not None:
        if res.etag is None:
            return False
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or res.etag.removeprefix("W/") in tags
    ims = request.headers.get("If-Modified-Since")
    if ims is None or res.last_modified is None:
        return False
    try:
        return parsedate_to_datetime(res.last_modified) <= parsedate_to_datetime(ims)
    except (TypeError, ValueError):
        return ims == res.last_modified


def _x(value: Any) -> str:
    text = str(value)
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def rss(
    items: list[dict[str, Any]],
    *,
    title: str = "Habar test feed",
    link: str = "https://example.kz/",
    encoding: str = "utf-8",
    language: str | None = None,
) -> bytes:
    """Build an RSS 2.0 document from dicts with title/link/guid/description/pubDate keys."""
    parts = [
        f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0"><channel>'
        f"<title>{_x(title)}</title><link>{_x(link)}</link>"
        "<description>test</description>"
    ]
    if language:
        parts.append(f"<language>{_x(language)}</language>")
    for item in items:
        parts.append("<item>")
        for key in ("title", "link", "guid", "description", "pubDate"):
            value = item.get(key)
            if value is None:
                continue
            if isinstance(value, datetime):
                value = format_datetime(value.astimezone(UTC), usegmt=True)
            attrs = ' isPermaLink="false"' if key == "guid" else ""
            parts.append(f"<{key}{attrs}>{_x(value)}</{key}>")
        parts.append("</item>")
    parts.append("</channel></rss>\n")
    return "".join(parts).encode(encoding, "xmlcharrefreplace")

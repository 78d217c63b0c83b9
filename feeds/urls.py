"""One spelling per web page, so the same article linked from two feeds is stored once.

canonical_url resolves a link against the feed, lowercases scheme and host (IDN hosts become
punycode), drops default ports, credentials and the fragment, percent-encodes non-ASCII path and
query characters (what a browser sends), and removes well-known tracking parameters.

Only parameters that exist purely to track clicks or campaigns are removed. Generic names such as
"from", "ref", "source" or "rss" stay: some sites route content by them (/news?from=2024-01-01).
A fragment starting with "!" is kept: on "#!" sites it is the page address. http and https stay
distinct: a site may serve different things on them, and the feed said which one it meant.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote_plus, urljoin, urlsplit, urlunsplit

_TRACKING_PREFIXES = ("utm_",)
_TRACKING_PARAMS = frozenset(
    {
        # ad click ids: Google, Facebook, Yandex, Microsoft, TikTok, Twitter, LinkedIn
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "gclsrc", "yclid", "ysclid", "msclkid",
        "ttclid", "twclid", "li_fat_id", "igshid", "igsh", "rb_clickid", "srsltid",
        # analytics and mailing-list campaign ids: Google Analytics, Openstat, Mailchimp,
        # HubSpot, Marketo, Olytics, Vero
        "_ga", "_gl", "_openstat", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "__hstc", "__hssc",
        "__hsfp", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "vero_conv",
        # Facebook share dialogs
        "fb_action_ids", "fb_action_types", "fb_ref", "fb_source",
    }
)  # fmt: skip
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters left as they are in a path or query; everything else (non-ASCII, spaces, quotes)
# is percent-encoded as UTF-8, so "/новости" and "/%D0%BD..." are one URL.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"
_PERCENT_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")
# A character quote() would change: not ASCII alphanumeric and not in the safe set.
_NEEDS_QUOTING = {
    safe: re.compile("[^A-Za-z0-9" + re.escape(safe) + "]") for safe in (_PATH_SAFE, _QUERY_SAFE)
}
_STRIP = "".join(map(chr, range(33)))  # C0 controls and space, as browsers strip them
_TABS_AND_BREAKS = re.compile(r"[\t\n\r]")
_ABSOLUTE = re.compile(r"https?://[^/?#]", re.IGNORECASE)
_HOST_OK = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*|\[[0-9a-f:.]+\]")  # DNS names and IPs


def _is_tracking(pair: str) -> bool:
    name = unquote_plus(pair.partition("=")[0]).strip().lower()
    return name.startswith(_TRACKING_PREFIXES) or name in _TRACKING_PARAMS


def _encode(part: str, safe: str) -> str:
    # Most links need no quoting at all; quote() is slow enough to be worth skipping.
    quoted = quote(part, safe=safe) if _NEEDS_QUOTING[safe].search(part) else part
    return _PERCENT_ESCAPE.sub(lambda m: m.group().upper(), quoted) if "%" in quoted else quoted


def _host(hostname: str) -> str | None:
    host = hostname.rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    elif not host.isascii():
        host = host.encode("idna").decode("ascii")
    host = host.lower()
    return host if _HOST_OK.fullmatch(host) else None


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4 on an absolute path ("/a/./b/../c" -> "/a/c"), keeping empty segments."""
    out: list[str] = []
    segments = path.split("/")[1:]
    for seg in segments:
        if seg == "..":
            if out:
                out.pop()
        elif seg != ".":
            out.append(seg)
    if segments and segments[-1] in (".", ".."):
        out.append("")  # "/a/b/.." names the folder "/a/"
    return "/" + "/".join(out)


def _path(path: str) -> str:
    if "/." in path:
        path = _remove_dot_segments(path)
    return _encode(path, _PATH_SAFE) or "/"


def _trimmed(url: str) -> str:
    url = url.strip(_STRIP)
    return _TABS_AND_BREAKS.sub("", url) if _TABS_AND_BREAKS.search(url) else url


def _canonical(link: str, base: str | None) -> str:
    link = _trimmed(link)
    # No link, or only "#top": resolved against the feed it would become the site's home page.
    if not link or (link.startswith("#") and not link.startswith("#!")):
        return ""
    # An absolute link needs no base (urljoin would hand it back as it is).
    if base and not _ABSOLUTE.match(link):
        link = urljoin(_trimmed(base), link)
    parts = urlsplit(link)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return ""
    host = _host(parts.hostname)
    if host is None:
        return ""
    port = parts.port  # raises ValueError for a bad port
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    pairs = [p for p in parts.query.split("&") if p and not _is_tracking(p)]
    query = _encode("&".join(pairs), _QUERY_SAFE)
    fragment = _encode(parts.fragment, _QUERY_SAFE) if parts.fragment.startswith("!") else ""
    return urlunsplit((scheme, netloc, _path(parts.path), query, fragment))


# canonical_url's last results, by (link, base); emptied when full.
_RECENT_MAX = 4096
_recent: dict[tuple[str, str | None], str] = {}


def canonical_url(link: str, base: str | None = None) -> str:
    """The canonical form of `link` (resolved against `base`), or "" when it is not a web URL."""
    known = _recent.get((link, base))
    if known is not None:
        return known
    try:
        found = _canonical(link, base)
    except ValueError:  # bad port, broken IPv6 brackets, unencodable host (UnicodeError)
        found = ""
    if len(_recent) >= _RECENT_MAX:
        _recent.clear()
    _recent[link, base] = found
    if found:
        # Canonical URLs are their own canonical form: an item whose guid is its clean link
        # (the usual case) or a feed's 50 items sharing one feed URL cost one computation.
        _recent[found, None] = found
    return found

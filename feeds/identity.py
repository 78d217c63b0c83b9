"""A stable key per news item, so one article is stored once across polls and across feeds.

The rule, first that applies:
1. guid that is an http(s) URL -> "u:" + hash(canonical URL). It is keyed exactly like a link,
   so the same article reached by guid in one feed and by link in another gets one key. A
   URL-looking guid that is unusable ("https://") is ignored.
2. any other guid ("12345", "tag:site,2024:post-7") -> "g:" + hash(canonical feed URL, guid).
   Such ids are only unique inside their feed: two feeds' "12345" are different items.
3. link -> "u:" + hash(canonical URL); a relative link is resolved against the feed URL.
4. no guid, no usable link, a date -> "t:" + hash(clean title, date to the second, UTC). Not
   scoped to the feed: a headline at the same second from two mirrors is one item.
5. no date either -> "f:" + hash(canonical feed URL, clean title): one item per headline per feed.
Titles are compared after clean_text and casefold, so markup or case changes keep the key. Keys
are a one-letter kind, ":" and a 32-character BLAKE2b hex digest (34 characters in all).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from feeds.normalize import clean_text
from feeds.urls import canonical_url

_SEPARATOR = "\x1f"  # cannot occur in a URL, a clean title or an ISO date


def _digest(kind: str, *parts: str) -> str:
    data = _SEPARATOR.join(parts).encode("utf-8", "surrogatepass")
    return f"{kind}:{hashlib.blake2b(data, digest_size=16).hexdigest()}"


def _looks_like_url(guid: str) -> bool:
    return guid[:8].lower().startswith(("http://", "https://"))


def _feed_scope(feed_url: str) -> str:
    return canonical_url(feed_url) or feed_url.strip()


def item_key(
    *, guid: str | None, url: str, title: str, published: datetime | None, feed_url: str
) -> str:
    """The item's identity: URL-like guid, else feed-scoped guid, else URL, else title and date."""
    guid = (guid or "").strip()
    if guid and _looks_like_url(guid):
        guid_url = canonical_url(guid)
        if guid_url:
            return _digest("u", guid_url)
    elif guid:
        return _digest("g", _feed_scope(feed_url), guid)
    link = canonical_url(url, feed_url) if url else ""
    if link:
        return _digest("u", link)
    headline = clean_text(title).casefold()
    if published is not None:
        if published.tzinfo is None:  # feeds.models promises aware datetimes; do not guess local
            published = published.replace(tzinfo=UTC)
        when = published.astimezone(UTC).replace(microsecond=0).isoformat()
        return _digest("t", headline, when)
    return _digest("f", _feed_scope(feed_url), headline)

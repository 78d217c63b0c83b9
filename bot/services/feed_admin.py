"""Adding, listing and removing feeds: the checks an admin expects before a feed is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from bot.services.errors import FeedAdminError
from bot.services.ingest import Ingest, utcnow
from bot.storage.feeds import FEED_URL_MAX, DuplicateFeed, FeedRepo, FeedRow
from bot.storage.items import FeedSuccess, ItemRepo
from feeds.fetch import Fetcher
from feeds.models import SERVED_LANGS, FetchError, FetchErrorKind
from feeds.netpolicy import check_url
from feeds.urls import canonical_url


@dataclass(frozen=True, slots=True)
class AddedFeed:
    """A feed just stored, with the number of items its first fetch brought."""

    feed: FeedRow
    items: int


LANG_HINTS = tuple(lang.value for lang in SERVED_LANGS)


class FeedAdmin:
    """Feed management for the CLI and the admin commands."""

    def __init__(
        self,
        *,
        feeds: FeedRepo,
        items: ItemRepo,
        fetcher: Fetcher,
        ingest: Ingest,
        allow_private: bool,
        backfill: timedelta,
    ) -> None:
        self._feeds = feeds
        self._items = items
        self._fetcher = fetcher
        self._ingest = ingest
        self._allow_private = allow_private
        self._backfill = backfill

    async def add(self, raw_url: str, lang: str | None = None) -> AddedFeed:
        """Fetch and parse `raw_url`; store it with its first items only if it is a feed."""
        if lang is not None and lang not in LANG_HINTS:
            raise FeedAdminError("bad_lang", lang)
        url = raw_url.strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FeedAdminError(FetchErrorKind.BAD_URL.value, url)
        url = canonical_url(url) or url
        if len(url) > FEED_URL_MAX:  # the database would refuse it (PostgreSQL does)
            raise FeedAdminError("url_too_long", f"{url[:60]}… ({len(url)} characters)")
        if await self._feeds.get_by_url(url) is not None:
            raise FeedAdminError("duplicate", url)
        try:
            await check_url(url, allow_private=self._allow_private)
            result = await self._fetcher.fetch(url)
            processed = await self._ingest.process(result.body, result.headers, url, lang)
        except FetchError as exc:
            raise FeedAdminError(exc.kind.value, exc.detail) from None
        now = utcnow()
        try:
            # Not due before its first items are stored below: no instance polls it meanwhile.
            feed = await self._feeds.add(
                url=url,
                title=processed.title,
                site_url=processed.site_url,
                lang_hint=lang,
                now=now,
                next_check_at=self._ingest.next_check(now),
            )
        except DuplicateFeed:
            raise FeedAdminError("duplicate", url) from None
        success = FeedSuccess(
            result.etag, result.last_modified, processed.title, now, self._ingest.next_check(now)
        )
        new = await self._items.store_poll(
            feed.id,
            processed.items,
            success,
            source=processed.title or url,
            backfill=self._backfill,
        )
        return AddedFeed(await self._feeds.get(feed.id) or feed, new)

    async def list(self) -> list[FeedRow]:
        """Every feed with its status and item count."""
        return await self._feeds.list()

    async def remove(self, ref: str) -> FeedRow:
        """Remove a feed by id or URL; its stored items stay."""
        ref = ref.strip()
        feed = None
        if ref.isdigit():
            feed = await self._feeds.get(int(ref))
        elif ref:
            feed = await self._feeds.get_by_url(canonical_url(ref) or ref)
        removed = await self._feeds.remove(feed.id) if feed else None
        if removed is None:
            raise FeedAdminError("no_such_feed", ref)
        return removed

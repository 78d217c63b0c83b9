"""/sources: which feeds a place receives; a muted feed's items never reach it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.errors import InputError
from bot.storage.feeds import FeedRepo
from bot.storage.place import Place
from bot.storage.sources import IntegrityError, MutedRepo
from bot.storage.subscribers import SubscriberRepo

PAGE_SIZE = 20  # feeds a page of the /sources keyboard shows


@dataclass(frozen=True, slots=True)
class SourcePage:
    """One page of a place's sources: (feed id, title, muted) rows, and where it is."""

    rows: list[tuple[int, str, bool]]
    page: int
    pages: int
    muted: int  # muted feeds in all pages


class Sources:
    """Mute and unmute feeds per place; unmuting never brings back what was skipped."""

    def __init__(self, feeds: FeedRepo, muted: MutedRepo, subscribers: SubscriberRepo) -> None:
        self._feeds = feeds
        self._muted = muted
        self._subs = subscribers

    async def page(self, place: Place, page: int = 0) -> SourcePage:
        """The feeds on page `page` (clamped), by title, each marked muted or not."""
        if await self._subs.get(place) is None:
            raise InputError("not_subscribed")
        feeds = sorted(await self._feeds.list(), key=lambda f: (f.title or f.url).lower())
        muted = await self._muted.muted(place)
        pages = max(1, -(-len(feeds) // PAGE_SIZE))
        page = min(max(page, 0), pages - 1)
        shown = feeds[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        rows = [(f.id, f.title or f.url, f.id in muted) for f in shown]
        return SourcePage(rows, page, pages, len(muted & {f.id for f in feeds}))

    async def toggle(self, place: Place, feed_id: int) -> bool:
        """Mute or unmute one feed for the place; True when it is muted now."""
        try:
            return await self._muted.toggle(place, feed_id)
        except IntegrityError:  # the feed was deleted, or the place never subscribed
            raise InputError("bad_button") from None

    async def reset(self, place: Place) -> None:
        """`/sources all`: every feed reaches the place again (from now on)."""
        if await self._subs.get(place) is None:
            raise InputError("not_subscribed")
        await self._muted.clear(place)

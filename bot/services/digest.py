"""Digests: pending items per subscriber -> rendered parts queued in the outbox."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.services.ingest import utcnow
from bot.services.render import DigestItem, DigestText, render_digest
from bot.services.schedule import next_run
from bot.storage.items import ItemRow
from bot.storage.outbox import ItemWindow, OutboxRepo, Plan, Snapshot
from bot.storage.subscribers import Place, SubscriberRepo

log = logging.getLogger(__name__)

# Before every place: groups and channels have negative ids, and they are paged too.
BEFORE_ALL_CHATS = Place(-(2**63), -1)
# Places planned together: read in one query, queued in one transaction.
ROUND_BATCH = 500


class Localizer(Protocol):
    """Translated strings the digest needs; implemented with gettext at the edge."""

    def digest_text(self, locale: str, count: int, day: date) -> DigestText:
        """Header (dated `day`), 'other' heading and 'continued' suffix for `count` items."""
        ...

    def topic_name(self, slug: str, locale: str) -> str:
        """A topic's name in `locale`."""
        ...

    def digest_more(self, locale: str, more: int) -> str:
        """The last line of a digest cut at its limit: how many more matched, /digest for them."""
        ...


def to_digest_item(row: ItemRow, marks: Mapping[int, tuple[str, ...]] | None = None) -> DigestItem:
    """The renderer's view of a stored item; `marks` holds the keyword matches' words."""
    return DigestItem(
        id=row.id,
        url=row.url,
        title=row.title,
        source=row.source,
        published=row.published_at,
        topics=row.topics,
        marks=marks.get(row.id) if marks else None,
    )


def to_digest_items(
    rows: list[ItemRow],
    marks: Mapping[int, tuple[str, ...]] | None,
    made: dict[int, DigestItem] | None,
) -> list[DigestItem]:
    """`to_digest_item` of each row; `made` keeps a round's unmarked items for all its places."""
    if made is None:
        return [to_digest_item(r, marks) for r in rows]
    out = []
    for row in rows:
        item = None if marks and row.id in marks else made.get(row.id)
        if item is None:
            item = to_digest_item(row, marks)
            if item.marks is None:
                made[row.id] = item
        out.append(item)
    return out


@asynccontextmanager
async def always_mine() -> AsyncIterator[bool]:
    """The planning turn of an instance that runs alone: always its own."""
    yield True


@dataclass
class _Round:
    """What one planning round shares between its places: the items it read, the digests it
    rendered."""

    window: ItemWindow = field(default_factory=ItemWindow)
    rendered: dict[tuple[object, ...], list[str]] = field(default_factory=dict)
    shown: dict[int, DigestItem] = field(default_factory=dict)


class Digests:
    """Plans digests for scheduled, instant and on-demand delivery."""

    def __init__(
        self,
        *,
        subscribers: SubscriberRepo,
        outbox: OutboxRepo,
        topic_order: tuple[str, ...],
        localizer: Localizer,
        backfill: timedelta,
        max_items: int = 100,
        on_queued: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = utcnow,
        turn: Callable[[], AbstractAsyncContextManager[bool]] = always_mine,
    ) -> None:
        self._subs = subscribers
        self._outbox = outbox
        self._order = topic_order
        self._l10n = localizer
        self._backfill = backfill
        self._max_items = max_items
        self.on_queued = on_queued
        self._clock = clock
        # Several instances: one plans a round at a time, the others skip it (the round would
        # find nothing left to queue, after reading and rendering it all again).
        self.turn = turn
        self._instant_again = False
        self._instant_task: asyncio.Task[None] | None = None

    def request_instant(self) -> None:
        """Ask for an instant round soon; requests made while one runs coalesce into one more."""
        self._instant_again = True
        if self._instant_task is None or self._instant_task.done():
            self._instant_task = asyncio.create_task(self._instant_rounds(), name="instant")

    async def _instant_rounds(self) -> None:
        while self._instant_again:
            self._instant_again = False
            try:
                await self.plan_instant()
            except Exception:
                log.exception("instant digests failed")

    async def drain(self) -> None:
        """Let a running instant round finish (each plan is one transaction)."""
        self._instant_again = False
        if self._instant_task is not None:
            await asyncio.gather(self._instant_task, return_exceptions=True)

    def render(
        self,
        rows: list[ItemRow],
        *,
        locale: str,
        topics: frozenset[str] | None,
        tz: str,
        more: int = 0,
        marks: Mapping[int, tuple[str, ...]] | None = None,
        now: datetime | None = None,
        made: dict[int, DigestItem] | None = None,
    ) -> list[str]:
        """The HTML message parts of a digest of `rows` for these settings, dated in `tz`."""
        now = now or self._clock()
        return render_digest(
            to_digest_items(rows, marks, made),
            topic_order=self._order,
            chosen_topics=topics,
            topic_name=lambda slug: self._l10n.topic_name(slug, locale),
            tz=ZoneInfo(tz),
            text=self._l10n.digest_text(locale, len(rows), now.astimezone(ZoneInfo(tz)).date()),
            now=now,
            footer=self._l10n.digest_more(locale, more) if more else "",
        )

    def _planner(
        self, now: datetime, reschedule: bool, round_: _Round
    ) -> Callable[[Snapshot], Plan]:
        """Render and schedule a snapshot's digest; places whose digests come out the same
        (most keep the default settings) share one rendering in `rendered`."""

        def plan(snap: Snapshot) -> Plan:
            sub = snap.sub
            locale = sub.ui_lang or "ru"
            marks = tuple(sorted(snap.marks.items()))
            ids = tuple(r.id for r in snap.items)
            key = (locale, sub.topics, sub.timezone, snap.more, ids, marks)
            parts = round_.rendered.get(key)
            if parts is None:
                parts = round_.rendered[key] = self.render(
                    snap.items,
                    locale=locale,
                    topics=sub.topics,
                    tz=sub.timezone,
                    more=snap.more,
                    marks=snap.marks,
                    now=now,
                    made=round_.shown,
                )
            if not reschedule:
                return Plan(parts, None, keep_schedule=True)
            return Plan(parts, next_run(sub.schedule, sub.times, sub.timezone, now))

        return plan

    async def plan(self, place: Place | int, *, reschedule: bool = False) -> int | None:
        """Queue the next digest (at most MAX_DIGEST_ITEMS items) for one place now.

        Returns how many items it holds, or None when the place is not subscribed.
        """
        now = self._clock()
        planner = self._planner(now, reschedule, _Round())
        count = await self._outbox.plan_snapshot(place, planner, now, limit=self._max_items)
        if count:
            self.on_queued()
        return count

    async def _plan_together(
        self, places: list[Place], now: datetime, round_: _Round, *, reschedule: bool
    ) -> tuple[int, list[Place]]:
        """Plan these places as one batch; returns how many queued a digest, and the places
        whose settings changed meanwhile (planned again on their own)."""
        planner = self._planner(now, reschedule, round_)
        window = round_.window
        plans = []
        for i, snap in enumerate(await self._outbox.snapshots(places, self._max_items, window)):
            plans.append((snap, planner(snap)))
            if i % 50 == 49:
                await asyncio.sleep(0)  # rendering is CPU: let updates be answered meanwhile
        stale = await self._outbox.commit_all(plans, now)
        gone = {s.sub.place for s in stale}
        done = [snap for snap, plan in plans if snap.sub.place not in gone]
        if any(snap.items for snap in done):
            self.on_queued()
        return sum(1 for snap in done if snap.items or reschedule), [*gone]

    async def plan_due(self) -> int:
        """Plan the scheduled digests whose time has come; returns how many were planned.

        Nothing when another instance is planning a round (it plans these too).
        """
        async with self.turn() as mine:
            return await self._plan_due() if mine else 0

    async def _plan_due(self) -> int:
        now, round_ = self._clock(), _Round()
        planned, given_up = 0, set[Place]()
        while True:
            due = await self._subs.due(now, ROUND_BATCH + len(given_up))
            places = [s.place for s in due if s.place not in given_up]
            if not places:
                return planned
            count, stale = await self._plan_together(places, now, round_, reschedule=True)
            planned += count
            for place in stale:
                if await self.plan(place, reschedule=True) is None:
                    given_up.add(place)  # unsubscribed, or changing under us: next tick
                else:
                    planned += 1

    async def plan_instant(self) -> int:
        """After a poll brought items: plan for every instant subscriber who is behind.

        Nothing when another instance is planning a round: the digest tick asks again.
        """
        async with self.turn() as mine:
            return await self._plan_instant() if mine else 0

    async def _plan_instant(self) -> int:
        now, round_ = self._clock(), _Round()
        upto = await self._outbox.max_item_id()
        planned, after = 0, BEFORE_ALL_CHATS
        while places := await self._subs.instant_behind(upto, after, ROUND_BATCH):
            count, stale = await self._plan_together(places, now, round_, reschedule=False)
            planned += count
            for place in stale:
                if await self.plan(place):
                    planned += 1
            after = places[-1]
        return planned

    async def preview(
        self, *, langs: frozenset[str] | None, topics: frozenset[str] | None, locale: str, tz: str
    ) -> list[str]:
        """The digest a new subscriber with these settings would get now, without queuing it."""
        floor = await self._subs.cursor_before(self._clock() - self._backfill)
        rows, more = await self._outbox.pending_items(floor, langs, topics, self._max_items)
        return self.render(rows, locale=locale, topics=topics, tz=tz, more=more)

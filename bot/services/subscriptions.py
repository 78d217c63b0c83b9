"""Subscribing, pausing and choosing languages, topics, schedule and interface language."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from bot.services.errors import InputError
from bot.services.ingest import utcnow
from bot.services.keywords import changed
from bot.services.schedule import next_run, parse_schedule
from bot.storage.subscribers import TITLE_MAX, Place, Subscriber, SubscriberRepo, as_place
from feeds.models import SERVED_LANGS

__all__ = ["Place", "Subscriber", "Subscriptions"]

LANGS = tuple(lang.value for lang in SERVED_LANGS)  # the item languages a subscriber can pick
UI_LANGS = ("ru", "kk", "en")  # the interface catalogues in bot/locales
ALL_WORD = "all"
NONE_WORD = "none"  # /topics none: no topic, only keyword alerts
TOGGLE_ATTEMPTS = 5  # taps racing on one setting: each retried on the value the other wrote
_ALIASES = {"kz": "kk", "қаз": "kk", "каз": "kk", "рус": "ru", "eng": "en"}


def _words(args: str) -> list[str]:
    return [w for w in re.split(r"[\s,;]+", args.strip().lower()) if w]


def parse_choice(args: str, options: Sequence[str], error_key: str) -> frozenset[str] | None:
    """Words from `options` or `all` -> the chosen set (None = all); InputError otherwise."""
    words = [_ALIASES.get(w, w) for w in _words(args)]
    bad = [w for w in words if w != ALL_WORD and w not in options]
    if not words or bad:
        raise InputError(error_key, bad=" ".join(bad), valid=" ".join((*options, ALL_WORD)))
    if ALL_WORD in words or set(words) >= set(options):
        return None
    return frozenset(words)


def toggle(
    chosen: frozenset[str] | None, value: str, options: Sequence[str]
) -> frozenset[str] | None:
    """Flip one option; `all` selects everything; the last chosen option cannot be removed."""
    if value == ALL_WORD:
        return None
    if value not in options:
        raise InputError("bad_button")
    current = set(options) if chosen is None else set(chosen)
    current ^= {value}
    if not current:
        raise InputError("need_one")
    return None if current >= set(options) else frozenset(current)


class Subscriptions:
    """The subscriber use cases behind /start, /stop, /lang, /topics, /schedule and /settings."""

    def __init__(
        self,
        repo: SubscriberRepo,
        *,
        topic_slugs: Sequence[str],
        default_tz: str,
        backfill: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._repo = repo
        self.topic_slugs = tuple(topic_slugs)
        self._tz = default_tz
        self._backfill = backfill
        self._clock = clock

    async def get(self, place: Place | int) -> Subscriber | None:
        """The place's subscription, or None."""
        return await self._repo.get(place)

    async def start(
        self,
        place: Place | int,
        ui_lang: str | None,
        *,
        kind: str = "private",
        title: str = "",
        added_by: int | None = None,
    ) -> tuple[Subscriber, bool]:
        """Subscribe with defaults, or resume a paused/blocked subscription with its settings.

        A first digest, new or resumed, covers at most the last BACKFILL_HOURS.
        Returns the subscription and whether it is new.
        """
        now = self._clock()
        floor = await self._repo.cursor_before(now - self._backfill)
        place = as_place(place)
        sub = await self._repo.get(place)
        if sub is None:
            sub = Subscriber(
                chat_id=place.chat_id,
                thread_id=place.thread_id,
                kind=kind,
                title=title[:TITLE_MAX],
                added_by=added_by,
                ui_lang=ui_lang if ui_lang in UI_LANGS else "ru",
                langs=None,
                topics=None,
                schedule="daily",
                times=("09:00",),
                timezone=self._tz,
                status="active",
                cursor_item_id=floor,
                next_digest_at=next_run("daily", ("09:00",), self._tz, now),
                created_at=now,
            )
            return await self._repo.create(sub, now), True
        when = next_run(sub.schedule, sub.times, sub.timezone, now)
        resumed = await self._repo.resume(place, floor, when, now)
        if resumed is None:
            raise InputError("not_subscribed")
        return resumed, False

    async def stop(self, place: Place | int) -> Subscriber:
        """Pause deliveries; settings are kept."""
        return await self._update(place, status="paused")

    async def set_languages(self, place: Place | int, args: str) -> Subscriber:
        """Choose item languages from `ru kk en all`."""
        langs = parse_choice(args, LANGS, "bad_lang")
        return await self._update(place, langs=langs)

    async def toggle_language(self, place: Place | int, value: str) -> Subscriber:
        """Flip one language (a keyboard tap)."""
        return await self._toggle(place, "langs", lambda s: toggle(s.langs, value, LANGS))

    async def set_topics(self, place: Place | int, args: str) -> Subscriber:
        """Choose topics by slug, `all`, or `none` (keyword alerts only)."""
        if _words(args) == [NONE_WORD]:
            return await self._update(place, topics=frozenset())
        topics = parse_choice(args, self.topic_slugs, "bad_topic")
        return await self._update(place, topics=topics)

    async def change_keywords(self, place: Place | int, args: str) -> Subscriber:
        """`/keywords add …`, `remove …` or `clear`, applied to what is stored now."""
        for _ in range(TOGGLE_ATTEMPTS):
            sub = await self.require(place)
            new = changed(sub.keywords, args)
            now = self._clock()
            done = await self._repo.update(
                place, now, expect={"keywords": sub.keywords}, keywords=new
            )
            if done is not None:
                return done
        raise InputError("bad_button")

    async def toggle_topic(self, place: Place | int, value: str) -> Subscriber:
        """Flip one topic (a keyboard tap)."""
        slugs = self.topic_slugs
        return await self._toggle(place, "topics", lambda s: toggle(s.topics, value, slugs))

    async def set_schedule(self, place: Place | int, args: str) -> Subscriber:
        """`instant`, `hourly` or `daily HH:MM [HH:MM ...]` in the subscriber's time zone."""
        kind, times = parse_schedule(args)
        sub = await self.require(place)
        when = next_run(kind, times, sub.timezone, self._clock())
        return await self._update(place, schedule=kind, times=times, next_digest_at=when)

    async def set_ui_lang(self, place: Place | int, code: str) -> Subscriber:
        """Choose the interface language."""
        if code not in UI_LANGS:
            raise InputError("bad_ui_lang", valid=" ".join(UI_LANGS))
        return await self._update(place, ui_lang=code)

    async def migrate(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group upgraded to a supergroup keeps its subscription under the new id."""
        await self._repo.migrate(old_chat_id, new_chat_id, self._clock())

    async def require(self, place: Place | int) -> Subscriber:
        """The place's subscription; InputError('not_subscribed') when there is none."""
        sub = await self._repo.get(place)
        if sub is None:
            raise InputError("not_subscribed")
        return sub

    async def _update(self, place: Place | int, **changes: object) -> Subscriber:
        """Write only these settings: whatever else changed meanwhile (the cursor) stays."""
        sub = await self._repo.update(place, self._clock(), **changes)
        if sub is None:
            raise InputError("not_subscribed")
        return sub

    async def _toggle(
        self, place: Place | int, name: str, flip: Callable[[Subscriber], frozenset[str] | None]
    ) -> Subscriber:
        """Flip from what is stored: a tap that raced another tap is redone on the new value."""
        for _ in range(TOGGLE_ATTEMPTS):
            sub = await self.require(place)
            old = getattr(sub, name)
            done = await self._repo.update(
                place, self._clock(), expect={name: old}, **{name: flip(sub)}
            )
            if done is not None:
                return done
        raise InputError("bad_button")

"""Places: where digests go (a chat or one forum topic), who may configure one, and which place
a private chat is configuring after /chats.

Telegram is reached through callables the handlers pass in, so this module stays free of
aiogram: `lookup(chat_id, user_id)` returns the user's member status in that chat.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.services.ingest import utcnow
from bot.services.subscriptions import Subscriptions
from bot.storage.chosen import ChosenRepo
from bot.storage.subscribers import Place, Subscriber, SubscriberRepo

__all__ = ["ADMIN_STATUSES", "Place", "Places", "Rights", "Subscriber"]

ADMIN_STATUSES = frozenset({"creator", "administrator"})
RIGHTS_TTL = 300.0  # a getChatMember answer is trusted for at most 5 minutes
Lookup = Callable[[int, int], Awaitable[str]]


class Rights:
    """Whether a user administers a chat, asked of Telegram and remembered for a while."""

    def __init__(self, ttl: float = RIGHTS_TTL, clock: Callable[[], float] = time.monotonic):
        self._ttl = ttl
        self._clock = clock
        self._known: dict[tuple[int, int], tuple[bool, float]] = {}

    async def is_admin(self, chat_id: int, user_id: int, lookup: Lookup) -> bool:
        """True if `user_id` is the creator or an administrator of `chat_id`."""
        now = self._clock()
        cached = self._known.get((chat_id, user_id))
        if cached is not None and now - cached[1] < self._ttl:
            return cached[0]
        admin = await lookup(chat_id, user_id) in ADMIN_STATUSES
        if len(self._known) > 10_000:
            self._known = {k: v for k, v in self._known.items() if now - v[1] < self._ttl}
        self._known[(chat_id, user_id)] = (admin, now)
        return admin

    def forget(self, chat_id: int, user_id: int) -> None:
        """Drop a remembered answer (Telegram told us the member's status changed)."""
        self._known.pop((chat_id, user_id), None)


class Places:
    """Which place each private chat configures, and the places a user may choose from."""

    def __init__(
        self,
        repo: SubscriberRepo,
        subs: Subscriptions,
        rights: Rights,
        chosen: ChosenRepo,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._repo = repo
        self._subs = subs
        self.rights = rights
        self._chosen = chosen
        self._clock = clock

    async def chosen(self, private_chat_id: int) -> tuple[Place, str] | None:
        """The place this private chat configures and its name (None: the chat itself)."""
        found = await self._chosen.get(private_chat_id)
        if found is None:
            return None
        place, title = found
        name = title or str(place.chat_id)
        return place, f"{name} #{place.thread_id}" if place.thread_id else name

    async def choose(self, private_chat_id: int, sub: Subscriber | None) -> None:
        """Configure this place from the private chat from now on; None goes back to it."""
        back = sub is None or sub.place == Place(private_chat_id)
        await self._chosen.set(private_chat_id, None if back or sub is None else sub.place)

    async def pick(self, user_id: int, place: Place, lookup: Lookup) -> Subscriber | None:
        """Configure `place` from the user's private chat, if the bot serves it and the user
        administers it (asked again if the cached answer is older than 5 minutes)."""
        sub = await self._repo.get(place)
        if sub is None or not await self.rights.is_admin(place.chat_id, user_id, lookup):
            return None
        await self.choose(user_id, sub)
        return sub

    async def administered(self, user_id: int, lookup: Lookup) -> list[Subscriber]:
        """The group, topic and channel places the bot serves that `user_id` administers."""
        found = []
        for sub in await self._repo.shared_places():
            if await self.rights.is_admin(sub.chat_id, user_id, lookup):
                found.append(sub)
        return found

    async def removed(self, chat_id: int) -> None:
        """The bot was removed from a group or channel: its places stop, settings kept."""
        await self._repo.mark_blocked(chat_id, self._clock())

    async def renamed(self, chat_id: int, title: str) -> None:
        """The group or channel was renamed: /chats and the replies name it anew."""
        await self._repo.retitle(chat_id, title, self._clock())

    async def topic_closed(self, place: Place) -> None:
        """A forum topic was closed: its place stops, settings kept; /start there resumes."""
        await self._repo.mark_blocked(place.chat_id, self._clock(), thread_id=place.thread_id)

    async def connected(self, chat_id: int) -> list[Subscriber]:
        """The bot was added back to a chat: its places the removal stopped start again,
        settings as they were (as /start after /stop)."""
        resumed = []
        for sub in await self._repo.shared_places():
            if sub.chat_id == chat_id and sub.status == "blocked":
                again, _new = await self._subs.start(sub.place, sub.ui_lang)
                resumed.append(again)
        return resumed

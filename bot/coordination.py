"""Coordination of instances: one small port, an in-process adapter and a Redis adapter.

`open_coordination` picks the adapter from the settings, so the sender, the poller and the
long-polling loop never ask whether they run alone. Alone (no REDIS_URL): the RateLimiter in
memory, getUpdates whenever aiogram likes, aiogram's MemoryStorage, and the leases of any
earlier run freed at start (no other instance can hold them). Several (REDIS_URL): the limiter,
the getUpdates lease and the FSM state in Redis (Lua in bot/redis_coordination.py), and
database leases that expire when an instance dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.methods import GetUpdates

from bot.config import Settings
from bot.ratelimit import RateLimiter
from bot.resources import Resources
from bot.storage.claims import OutboxClaims
from bot.storage.feeds import FEED_LEASE, FeedRow
from bot.storage.instances import instance_lock
from bot.storage.outbox import Pending

log = logging.getLogger(__name__)

OUTBOX_LEASE = timedelta(seconds=30)  # renewed every third of it; a dead one's chats move on
UPDATES_LEASE = 20.0  # seconds; a standby asks every UPDATES_RETRY, so it takes over within 30 s
UPDATES_RETRY = 2.0
# One instance plans a digest round at a time; a dead one's turn lapses after this long.
PLANNING_LEASE = 120.0  # seconds
CLAIM_BATCH = 50  # messages an instance claims at once when it shares the work
NEEDS_REDIS = (
    "another Habar instance is running on this PostgreSQL database: several instances need "
    "Redis (set REDIS_URL on every one of them)"
)


class CoordinationError(Exception):
    """This instance must not run beside the others; the message says why in one line."""


class Limiter(Protocol):
    """The send budget TelegramLimits waits on."""

    def now(self) -> float:
        """A monotonic clock in seconds."""

    def pause(self, seconds: float) -> None:
        """Pause every send of the bot."""

    def pause_chat(self, chat_id: int, seconds: float) -> None:
        """Pause sends to one chat."""

    def slot(self, chat_id: int | None = None) -> contextlib.AbstractAsyncContextManager[None]:
        """Wait for a send's turn and hold it until Telegram answered."""


class Coordination:
    """What instances share: the limiter, leases, FSM state and this instance's name."""

    def __init__(self, res: Resources, limiter: Limiter, fsm: BaseStorage) -> None:
        self.instance_id = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"
        self.limiter = limiter
        self.fsm_storage = fsm
        self._res = res
        self._claims = OutboxClaims(res.engine)
        self._renewer: asyncio.Task[None] | None = None
        self.claim_batch = 1_000_000  # alone: as many as the sender reads at once

    async def due_feeds(self, limit: int) -> list[FeedRow]:
        """Lease up to `limit` due feeds for this instance (the poller's source)."""
        return await self._res.feeds.claim_due(self.instance_id, _now(), FEED_LEASE, limit)

    async def claim_outbox(self, limit: int, after_id: int = 0) -> list[Pending]:
        """Claim queued messages for this instance to send (the sender's source)."""
        limit = min(limit, self.claim_batch)
        return await self._claims.claim(self.instance_id, limit, after_id, _now(), OUTBOX_LEASE)

    @asynccontextmanager
    async def planning_turn(self) -> AsyncIterator[bool]:
        """Whether this instance plans the digest round now (always, when alone)."""
        yield True

    async def updates_turn(self) -> None:
        """Wait until this instance may call getUpdates (always at once when alone)."""

    def updates_seen(self, next_offset: int) -> None:
        """The offset after the updates this instance received."""

    async def updates_offset(self) -> int | None:
        """The offset the instances reached together, if they share one."""
        return None

    def start(self) -> None:
        """Keep this instance's claims alive while it runs."""
        self._renewer = asyncio.create_task(self._renew(), name="claims-renewer")

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(OUTBOX_LEASE.total_seconds() / 3)
            try:
                await self._claims.renew(self.instance_id, _now(), OUTBOX_LEASE)
            except Exception:  # the database may be briefly away: the next round tries again
                log.exception("renewing this instance's outbox claims failed")

    async def stop(self) -> None:
        """Give up this instance's claims and leases, so the others take over at once."""
        if self._renewer is not None:
            self._renewer.cancel()
            await asyncio.gather(self._renewer, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._claims.release(self.instance_id)
            await self._res.feeds.free_leases(self.instance_id)


class SharedCoordination(Coordination):
    """Several instances through Redis: the getUpdates lease and a shared offset."""

    def __init__(self, res: Resources, limiter: Limiter, fsm: BaseStorage, redis: Any) -> None:
        super().__init__(res, limiter, fsm)
        from bot.redis_coordination import RedisLease

        self._redis = redis
        self._updates = RedisLease(redis, "habar:getupdates", self.instance_id, UPDATES_LEASE)
        self._planning = RedisLease(redis, "habar:planning", self.instance_id, PLANNING_LEASE)
        self._offset_key = "habar:getupdates:offset"
        self._holding = False
        self._writes: set[asyncio.Task[Any]] = set()
        # Several: a claim holds about what one instance sends in a few seconds, so the others
        # share the queue and a killed instance leaves little behind.
        self.claim_batch = CLAIM_BATCH

    @asynccontextmanager
    async def planning_turn(self) -> AsyncIterator[bool]:
        """Plan a round only while no other instance does: the planning lease in Redis."""
        mine = await self._planning.try_hold()
        try:
            yield mine
        finally:
            if mine:
                await self._planning.release()

    async def updates_turn(self) -> None:
        """Hold the getUpdates lease, waiting while another instance holds it."""
        while not await self._updates.try_hold():
            if self._holding:
                log.warning("another instance took over getUpdates")
                self._holding = False
            await asyncio.sleep(UPDATES_RETRY)
        if not self._holding:
            log.info("this instance now receives the updates (getUpdates)")
            self._holding = True

    def updates_seen(self, next_offset: int) -> None:
        """Share the offset, so an instance taking over does not receive these again."""
        task = asyncio.get_running_loop().create_task(
            self._redis.set(self._offset_key, next_offset)
        )
        self._writes.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(self._written)

    def _written(self, task: asyncio.Task[Any]) -> None:
        self._writes.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("sharing the getUpdates offset failed: %s", task.exception())

    async def updates_offset(self) -> int | None:
        """The offset the last holder of the lease reached."""
        raw = await self._redis.get(self._offset_key)
        return int(raw) if raw else None

    async def stop(self) -> None:
        """Give the getUpdates lease up too."""
        await self._updates.release()
        await super().stop()


class UpdatesTurn(BaseRequestMiddleware):
    """Request middleware: getUpdates only while this instance holds the turn, from the
    offset the instances reached together."""

    def __init__(self, coordination: Coordination) -> None:
        self._coordination = coordination

    async def __call__(self, make_request: Any, bot: Bot, method: Any) -> Any:
        if not isinstance(method, GetUpdates):
            return await make_request(bot, method)
        await self._coordination.updates_turn()
        shared = await self._coordination.updates_offset()
        if shared is not None and (method.offset is None or method.offset < shared):
            method.offset = shared
        updates = await make_request(bot, method)
        if updates:
            self._coordination.updates_seen(updates[-1].update_id + 1)
        return updates


@asynccontextmanager
async def open_coordination(settings: Settings, res: Resources) -> AsyncIterator[Coordination]:
    """The adapter the settings ask for; CoordinationError if this instance must not run."""
    shared = bool(settings.redis_url)
    async with AsyncExitStack() as stack:
        alone = await stack.enter_async_context(instance_lock(res.engine, shared=shared))
        if not alone:
            raise CoordinationError(NEEDS_REDIS)
        if not shared:
            coordination = Coordination(
                res, RateLimiter(settings.send_rate_per_second), MemoryStorage()
            )
            # No other instance runs: leases a killed earlier run left are nobody's now.
            await OutboxClaims(res.engine).release()
            await res.feeds.free_leases()
            yield coordination
            return
        yield await stack.enter_async_context(_shared(settings, res))


@asynccontextmanager
async def _shared(settings: Settings, res: Resources) -> AsyncIterator[Coordination]:
    from aiogram.fsm.storage.redis import RedisStorage
    from redis.asyncio import Redis

    from bot.redis_coordination import RedisRateLimiter

    redis = Redis.from_url(settings.redis_url)
    try:
        await redis.ping()
    except Exception as exc:
        await redis.aclose()
        raise CoordinationError(f"REDIS_URL: Redis cannot be reached ({exc})") from None
    limiter = RedisRateLimiter(redis, settings.send_rate_per_second)
    fsm = RedisStorage(redis)
    try:
        yield SharedCoordination(res, limiter, fsm, redis)
    finally:
        await redis.aclose()


def _now() -> datetime:
    return datetime.now(UTC)

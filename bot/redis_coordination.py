"""Coordination through Redis, for several instances: the shared send limiter and leases.

Every Lua script Habar runs is in this module. Times come from Redis (`TIME`), so the
instances share one clock whatever their machines' clocks say.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.ratelimit import GROUP_PER_MINUTE, GROUP_SPAN, PER_CHAT_INTERVAL

log = logging.getLogger(__name__)

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local p = KEYS[1]
local function num(key) return tonumber(redis.call('GET', key) or '0') end
"""
# Returns {0, 0}: go; {1, ms}: the chat's spacing or pause; {-1, 0}: a send to the chat is in
# flight; {2, ms}: the bot's pause, spacing or window.
_ACQUIRE = (
    (
        _NOW
        + """
local chat, token = ARGV[1], ARGV[2]
local cap, span, gap, hold, busy = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]),
    tonumber(ARGV[6]), tonumber(ARGV[7])
if chat ~= '' then
  if redis.call('EXISTS', p .. ':busy:' .. chat) == 1 then return {-1, 0} end
  local ready = num(p .. ':next:' .. chat)
  if ready > now then return {1, math.ceil(ready - now)} end
  if string.sub(chat, 1, 1) == '-' then  -- a group or channel: GROUP_CAP in any GROUP_SPAN
    local g = p .. ':group:' .. chat
    redis.call('ZREMRANGEBYSCORE', g, '-inf', now - GROUP_SPAN)
    if redis.call('ZCARD', g) >= GROUP_CAP then
      local oldest = redis.call('ZRANGE', g, 0, 0, 'WITHSCORES')
      return {1, math.max(1, math.ceil(tonumber(oldest[2]) + GROUP_SPAN - now))}
    end
  end
end
local ready = math.max(num(p .. ':pause'), num(p .. ':gap'))
if ready > now then return {2, math.ceil(ready - now)} end
redis.call('ZREMRANGEBYSCORE', p .. ':done', '-inf', now - span)
redis.call('ZREMRANGEBYSCORE', p .. ':flying', '-inf', now)
local done = redis.call('ZCARD', p .. ':done')
local over = done + redis.call('ZCARD', p .. ':flying') - cap + 1
if over > 0 then
  if over > done then return {2, 20} end
  local oldest = redis.call('ZRANGE', p .. ':done', over - 1, over - 1, 'WITHSCORES')
  return {2, math.max(1, math.ceil(tonumber(oldest[2]) + span - now))}
end
redis.call('ZADD', p .. ':flying', now + hold, token)
-- The spacing keeps its pace: a send that starts late by up to half a gap (waking up, asking
-- Redis) does not push every later one back; after a pause it starts afresh. The window above
-- still caps any second.
local paced = num(p .. ':gap')
paced = (now - paced <= gap / 2) and (paced + gap) or (now + gap)
redis.call('SET', p .. ':gap', paced, 'PX', 60000)
if chat ~= '' then redis.call('SET', p .. ':busy:' .. chat, token, 'PX', busy) end
return {0, 0}
"""
    )
    .replace("GROUP_CAP", str(GROUP_PER_MINUTE))
    .replace("GROUP_SPAN", str(int(GROUP_SPAN * 1000)))
)
_DONE = (
    _NOW
    + """
local chat, token, per_chat = ARGV[1], ARGV[2], tonumber(ARGV[3])
-- Telegram answered ARGV[4] ms before this call left the instance, so at least that long
-- before now: the send counts from then (it reached Telegram before it was answered).
now = now - math.max(0, tonumber(ARGV[4] or '0'))
redis.call('ZREM', p .. ':flying', token)
redis.call('ZADD', p .. ':done', now, token)
redis.call('PEXPIRE', p .. ':done', 60000)
if chat ~= '' then
  redis.call('DEL', p .. ':busy:' .. chat)
  if string.sub(chat, 1, 1) == '-' then  -- counted when answered: it arrived by then
    redis.call('ZADD', p .. ':group:' .. chat, now, token)
    redis.call('PEXPIRE', p .. ':group:' .. chat, GROUP_SPAN + 1000)
  end
  local ready = math.max(num(p .. ':next:' .. chat), now + per_chat)
  redis.call('SET', p .. ':next:' .. chat, ready, 'PX', math.ceil(ready - now) + 1000)
end
return 0
"""
).replace("GROUP_SPAN", str(int(GROUP_SPAN * 1000)))
_PAUSE = (
    _NOW
    + """
local key = ARGV[1] == '' and (p .. ':pause') or (p .. ':next:' .. ARGV[1])
local ready = math.max(num(key), now + tonumber(ARGV[2]))
redis.call('SET', key, ready, 'PX', math.ceil(ready - now) + 1000)
return 0
"""
)
_READY = (
    _NOW
    + """
local ready = num(p .. ':pause')
if ARGV[1] ~= '' then ready = math.max(ready, num(p .. ':next:' .. ARGV[1])) end
return math.max(0, math.ceil(ready - now))
"""
)
# A lease: taken if free, renewed if ours; 1 when this owner holds it afterwards.
_LEASE = """
local owner = redis.call('GET', KEYS[1])
if owner == false or owner == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
REDIS_RETRY = 1.0  # seconds before a call Redis refused is tried again
IN_FLIGHT_HOLD = 60.0  # a send whose instance died stops counting after this long
# ...and stops holding its chat after this long: a killed instance blocks a chat no longer.
CHAT_BUSY_HOLD = 15.0


class RedisRateLimiter:
    """The bot's send budget shared by every instance: the RateLimiter's rules in Redis.

    At most `rate` sends in any second for the whole bot (a send counts from its start until
    one window after its answer), one second apart per chat, 20 a minute per group or channel
    (negative chat ids), and a 429's retry_after pauses
    every instance. One task per instance asks Redis for the bot's turn; the others queue
    behind it here, so waiting costs Redis little. While Redis cannot be reached nothing is
    sent: a send waits, it never fails for it.
    """

    def __init__(
        self,
        redis: Redis,
        rate: float,
        *,
        prefix: str = "habar:send",
        per_chat: float = PER_CHAT_INTERVAL,
    ) -> None:
        gap = 1.0 / rate
        span = max(1.0, gap)
        self._args = [max(1, int(rate * span + 1e-9)), span * 1000, gap * 1000]
        self._per_chat_ms = per_chat * 1000
        self._redis = redis
        self._keys = [prefix]
        self._acquire = redis.register_script(_ACQUIRE)
        self._done = redis.register_script(_DONE)
        self._pause = redis.register_script(_PAUSE)
        self._ready = redis.register_script(_READY)
        self._turn = asyncio.Lock()
        self._pauses: list[tuple[str, float]] = []
        self._flushing: set[asyncio.Task[None]] = set()

    def now(self) -> float:
        """This process's clock (for telling which limit a 429 is about)."""
        return time.monotonic()

    def pause(self, seconds: float) -> None:
        """Telegram said retry_after to the bot: no instance starts a send before then."""
        self._later("", seconds)

    def pause_chat(self, chat_id: int, seconds: float) -> None:
        """Telegram said retry_after for one chat: sends to it wait, on every instance."""
        self._later(str(chat_id), seconds)

    def _later(self, chat: str, seconds: float) -> None:
        self._pauses.append((chat, seconds * 1000))
        task = asyncio.get_running_loop().create_task(self._flush())
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _flush(self) -> None:
        while self._pauses:
            chat, ms = self._pauses[0]
            await self._call(self._pause, [chat, ms])
            with contextlib.suppress(ValueError):
                self._pauses.remove((chat, ms))

    async def ready_in(self, chat_id: int | None = None) -> float:
        """Seconds until a pause (or, for a chat, its spacing) lets a send start."""
        await self._flush()
        chat = "" if chat_id is None else str(chat_id)
        return int(await self._call(self._ready, [chat])) / 1000

    async def _call(self, script: Any, args: list[Any]) -> Any:
        """Run a script; while Redis cannot be reached, wait and try again."""
        while True:
            try:
                return await script(keys=self._keys, args=args)
            except (RedisError, OSError) as exc:
                log.warning("Redis cannot be reached (%s): sends wait", type(exc).__name__)
                await asyncio.sleep(REDIS_RETRY)

    async def _try(self, chat: str, token: str) -> tuple[int, float]:
        args = [chat, token, *self._args, int(IN_FLIGHT_HOLD * 1000), int(CHAT_BUSY_HOLD * 1000)]
        call = asyncio.ensure_future(self._call(self._acquire, args))
        try:
            code, ms = await asyncio.shield(call)
        except asyncio.CancelledError:
            # Stopped while asking: if Redis said yes, give the turn back at once.
            call.add_done_callback(lambda done: self._undo(done, chat, token))
            raise
        return int(code), int(ms) / 1000

    def _undo(self, call: asyncio.Future[Any], chat: str, token: str) -> None:
        if call.cancelled() or call.exception() is not None or int(call.result()[0]) != 0:
            return
        task = asyncio.get_running_loop().create_task(
            self._call(self._done, [chat, token, self._per_chat_ms])
        )
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def acquire(self, chat_id: int | None = None) -> str:
        """Wait for this send's turn and count it; returns the token done() takes."""
        chat, token = "" if chat_id is None else str(chat_id), uuid.uuid4().hex
        while True:
            code, wait = await self._try(chat, token)
            if code == 0:
                return token
            if code != 2:  # the chat is not ready: wait for it outside the bot's queue
                await asyncio.sleep(wait or 0.05)
                continue
            async with self._turn:  # one task per instance asks Redis for the bot's turn
                while code == 2:
                    await asyncio.sleep(max(wait, 0.002))
                    code, wait = await self._try(chat, token)
                if code == 0:
                    return token

    async def done(self, chat_id: int | None, token: str, answered: float | None = None) -> None:
        """Telegram answered (or the send failed) at `answered` (this process's clock; now by
        default): pauses it asked for first, then the count, from when it was answered."""
        await self._flush()
        chat = "" if chat_id is None else str(chat_id)
        since = 0.0 if answered is None else max(0.0, self.now() - answered)
        await self._call(self._done, [chat, token, self._per_chat_ms, int(since * 1000)])

    @contextlib.asynccontextmanager
    async def slot(self, chat_id: int | None = None) -> AsyncIterator[None]:
        """acquire() and done() around one send, even when it fails or is cancelled."""
        token = await self.acquire(chat_id)
        try:
            yield
        finally:
            await asyncio.shield(self.done(chat_id, token, self.now()))


class RedisLease:
    """A named lease in Redis that one instance holds at a time and renews while it lives."""

    def __init__(self, redis: Redis, name: str, owner: str, ttl: float) -> None:
        self._redis = redis
        self._key = name
        self._owner = owner
        self._ttl_ms = int(ttl * 1000)
        self._lease = redis.register_script(_LEASE)
        self._release = redis.register_script(_RELEASE)

    async def try_hold(self) -> bool:
        """Take the lease if it is free or renew it if ours; True when this instance holds it."""
        try:
            got = await self._lease(keys=[self._key], args=[self._owner, self._ttl_ms])
        except (RedisError, OSError) as exc:
            log.warning("Redis cannot be reached (%s): lease %s not renewed", exc, self._key)
            return False
        return bool(got)

    async def release(self) -> None:
        """Give the lease up at once if this instance holds it (a clean stop)."""
        with contextlib.suppress(RedisError, OSError):
            await self._release(keys=[self._key], args=[self._owner])

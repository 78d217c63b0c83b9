"""End-to-end harness: the real bot against a fake Telegram over HTTP, with local feeds.

The bot is `bot.app.HabarApp`, started in-process the way `python -m bot` starts it and
stopped through the same shutdown path as SIGTERM (`app.stop()`: polling stops, then the
shutdown hook drains updates, polls and sends). Telegram is `FakeTelegram` and feeds come
from `FeedServer`, both real aiohttp servers on 127.0.0.1. Waits are on events, never sleep.

Fixtures
--------
fake_tg
    A running `FakeTelegram` (token "123:ABC"). Observe with `fake_tg.wait_sent(...)`,
    `fake_tg.current(chat_id, message_id)`, `fake_tg.commands_for(scope, language_code)`.
    It is a `GatedTelegram`: `fake_tg.hold(chat_id, after=n)` lets n sends to the chat
    through, then accepts each further one but holds back its answer (so a test knows
    exactly which message is in flight: `fake_tg.held`) until `fake_tg.release(chat_id)`.
feed_server
    A running `FeedServer`: `url = feed_server.add("/x.xml", rss([...]))`.
sqlite_url
    `sqlite+aiosqlite:///<tmp_path>/habar.db`, the default database of `start_habar`.
start_habar
    `app = await start_habar(**settings_overrides, digest_tick=20.0)`: a started
    `Habar` (wrapping HabarApp) on `make_settings(fake_tg, ...)`. Every app it started is
    stopped at teardown; `await app.stop()` stops one earlier, and calling `start_habar`
    again on the same `database_url` is a restart. Pass `database_url=db_url` (the
    parametrized fixture of tests/conftest.py) to run a flow on SQLite and PostgreSQL.
    `await app.poll()` polls every feed now, as `python -m bot poll --once` does.
    The HTTP server is off unless a test passes `web_port=free_port()` (tests/e2e/web.py);
    then `app.app.web.url` is its address. `webhook_url=...` runs webhook mode: route the
    fake's webhook to that address with `fake_tg.route_webhook(url)`.
    The fake is as strict as Telegram: the bot may write only to chats that wrote first
    (`Chat.say`) or that a test registered (`fake_tg.register_chat(chat_id)`). The admins in
    the settings are registered as having pressed Start before, unless
    `admins_wrote_before=False` (a first deployment).
start_bot
    `process = await start_bot(env=None, *, wait_for="Habar started")`: `python -m bot` as a
    child process (`tests/e2e/botprocess.py`) on `sqlite_url` by default; every one still
    alive is killed at teardown.
habar
    `await start_habar()`: the bot on SQLite, ADMIN as its only admin, private feeds allowed.
user / admin
    `Chat` helpers for a private chat with USER (Telegram language "ru") and with ADMIN:
    `await chat.ask("/lang kk")` sends a message and returns the bot's next reply;
    `await chat.tap(msg, "lg:kk")` taps an inline button and returns the callback answer.
    More chats: `Chat(fake_tg, chat_id, language_code="kk")`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.app import HabarApp
from bot.config import Settings, load_settings
from tests.e2e.gated_telegram import GatedTelegram
from tests.support.fake_telegram import CallbackAnswer, FakeTelegram, Msg

if TYPE_CHECKING:
    from tests.e2e.botprocess import BotProcess

TOKEN = "123:ABC"
ADMIN = 1001
USER = 2002
START_TIMEOUT = 120.0  # a cold start imports and migrates; on 2 loaded cores that took 40 s


def make_settings(fake: FakeTelegram, **overrides: Any) -> Settings:
    """Settings for a test bot talking to `fake`; keyword arguments override the defaults."""
    values: dict[str, Any] = {
        "bot_token": TOKEN,
        "telegram_api_url": fake.url,
        "admin_ids": frozenset({ADMIN}),
        "allow_private_feeds": True,
        "poll_interval_seconds": 3600,  # tests add feeds by hand; no background polls
        "default_timezone": "Asia/Almaty",
        "web_port": 0,  # tests that want the HTTP server pass a free port
        **overrides,
    }
    return load_settings(**values)


class Habar:
    """A HabarApp serving in a task (long polling, or the webhook), as `python -m bot` runs it."""

    def __init__(self, app: HabarApp, task: asyncio.Task[None], stack: AsyncExitStack) -> None:
        self.app = app
        self._task = task
        self._stack = stack
        self._stopped = False

    @classmethod
    async def start(cls, settings: Settings, *, digest_tick: float = 20.0) -> Habar:
        """Enter the app, start polling, and wait for the startup hook to finish."""
        stack = AsyncExitStack()
        app = await stack.enter_async_context(HabarApp(settings, digest_tick=digest_tick))
        task = asyncio.create_task(app.serve(handle_signals=False), name="habar-serve")
        started = asyncio.create_task(app.started.wait())
        await asyncio.wait({task, started}, timeout=START_TIMEOUT, return_when="FIRST_COMPLETED")
        if not started.done():
            started.cancel()
            await cls(app, task, stack).stop()
            raise AssertionError("the bot did not start")
        return cls(app, task, stack)

    @property
    def settings(self) -> Settings:
        """The settings it runs on."""
        return self.app.settings

    async def handled(
        self,
        inject: Callable[[], object],
        updates: int,
        timeout: float = 10,  # noqa: ASYNC109 - a deadline per wait reads best in tests
    ) -> None:
        """Run `inject` (which queues `updates` updates) and wait until the bot handled them.

        For updates that get no reply to wait for, such as a group's migration. Updates the
        bot is still handling are waited for first, so only the injected ones are counted.
        """
        inflight = self.app.inflight
        await inflight.wait_idle(timeout)
        before = inflight.handled
        inject()
        await inflight.wait_handled(before + updates, timeout)

    async def poll(self) -> int:
        """Poll every feed now and wait for it, as `poll --once` does; returns the new items."""
        res = self.app.res
        outcomes = await res.poller.run_once(await res.feeds.list())
        return sum(o.new_items for o in outcomes)

    async def stop(self) -> None:
        """Stop as on SIGTERM (polling ends, the shutdown hook drains), then close resources."""
        if self._stopped:
            return
        self._stopped = True
        try:
            if not self._task.done():
                await self.app.stop()
            await self._task
        finally:
            await self._stack.aclose()


class Chat:
    """One chat with the bot, seen from the user's side."""

    def __init__(
        self,
        fake: FakeTelegram,
        chat_id: int,
        *,
        user_id: int | None = None,
        language_code: str | None = "ru",
        chat_type: str = "private",
    ) -> None:
        self.fake = fake
        self.chat_id = chat_id
        self.user_id = user_id
        self.language_code = language_code
        self.chat_type = chat_type

    def sent(self) -> list[Msg]:
        """Every message the bot sent to this chat, oldest first."""
        return self.fake.sent_to(self.chat_id)

    def say(self, text: str) -> int:
        """Send a message without waiting; returns how many messages the chat had before."""
        before = len(self.sent())
        self.fake.message(
            self.chat_id,
            text,
            user_id=self.user_id,
            language_code=self.language_code,
            chat_type=self.chat_type,
        )
        return before

    async def ask(self, text: str, *, replies: int = 1, timeout: float = 10) -> Msg:  # noqa: ASYNC109
        """Send a message and return the last of the next `replies` messages the bot sends."""
        before = self.say(text)
        got = await self.fake.wait_sent(
            chat_id=self.chat_id, after=before, count=replies, timeout=timeout
        )
        return got[replies - 1]

    async def ask_all(self, text: str, replies: int, timeout: float = 10) -> list[Msg]:  # noqa: ASYNC109
        """Send a message and return the next `replies` messages the bot sends."""
        before = self.say(text)
        got = await self.fake.wait_sent(
            chat_id=self.chat_id, after=before, count=replies, timeout=timeout
        )
        return got[:replies]

    async def tap(self, msg: Msg, data: str, timeout: float = 10) -> CallbackAnswer:  # noqa: ASYNC109
        """Tap an inline button of `msg` and return the bot's answer to the tap."""
        answers = self.fake.callback_answers
        before = len(answers)
        self.fake.callback(
            self.chat_id,
            msg.message_id,
            data,
            user_id=self.user_id,
            language_code=self.language_code,
        )

        def answered() -> bool:
            return any(a.message_id == msg.message_id for a in answers[before:])

        await self.fake.wait_until(answered, timeout)
        return next(a for a in answers[before:] if a.message_id == msg.message_id)

    def now(self, msg: Msg) -> Msg:
        """The message as it looks now, after edits."""
        return self.fake.current(self.chat_id, msg.message_id)


def buttons(msg: Msg) -> dict[str, str]:
    """callback_data -> button text of a message's inline keyboard."""
    return {data: text for text, data in msg.buttons() if data is not None}


def marked(msg: Msg) -> set[str]:
    """callback_data of the buttons carrying the ✅ mark."""
    return {data for data, text in buttons(msg).items() if text.startswith("✅")}


@pytest.fixture
async def fake_tg() -> AsyncIterator[GatedTelegram]:
    """A fake Telegram Bot API on 127.0.0.1, with per-chat gates."""
    async with GatedTelegram(TOKEN) as fake:
        yield fake


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file for the bot."""
    return f"sqlite+aiosqlite:///{tmp_path / 'habar.db'}"


@pytest.fixture
async def start_habar(
    fake_tg: FakeTelegram, sqlite_url: str
) -> AsyncIterator[Callable[..., Awaitable[Habar]]]:
    """Start bots on demand; all of them are stopped (as on SIGTERM) at teardown."""
    started: list[Habar] = []

    async def start(
        *, digest_tick: float = 20.0, admins_wrote_before: bool = True, **overrides: Any
    ) -> Habar:
        settings = make_settings(fake_tg, **{"database_url": sqlite_url, **overrides})
        if admins_wrote_before:  # a deployment that has run a while: its admins pressed Start
            for admin_id in settings.admin_ids:
                fake_tg.register_chat(admin_id)
        app = await Habar.start(settings, digest_tick=digest_tick)
        started.append(app)
        return app

    try:
        yield start
    finally:
        for app in reversed(started):
            await app.stop()


@pytest.fixture
async def habar(start_habar: Callable[..., Awaitable[Habar]]) -> Habar:
    """The bot on SQLite, with ADMIN as admin and private feeds allowed."""
    return await start_habar()


@pytest.fixture
def user(fake_tg: FakeTelegram) -> Chat:
    """A private chat with an ordinary Russian-speaking user."""
    return Chat(fake_tg, USER, language_code="ru")


@pytest.fixture
def admin(fake_tg: FakeTelegram) -> Chat:
    """A private chat with the admin (Telegram language English)."""
    return Chat(fake_tg, ADMIN, language_code="en")


@pytest.fixture
async def start_bot(
    fake_tg: GatedTelegram, sqlite_url: str, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[BotProcess]]]:
    """Start `python -m bot` processes (on `sqlite_url` unless env says otherwise)."""
    from tests.e2e.botprocess import BotProcess, bot_env  # it imports this module

    started: list[BotProcess] = []

    async def start(
        env: dict[str, str] | None = None, *, wait_for: str | None = "Habar started"
    ) -> BotProcess:
        env = env if env is not None else bot_env(fake_tg, sqlite_url)
        process = await BotProcess.start(env, tmp_path, wait_for=wait_for)
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            await process.close()

"""A fake Telegram Bot API server on 127.0.0.1 for end-to-end tests and delivery benchmarks.

    async with FakeTelegram() as fake:
        bot = Bot(fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.url)))
        fake.message(42, "/start")            # queue an update for getUpdates
        [reply] = await fake.wait_sent(lambda m: m.chat_id == 42)

Replies use Telegram's status codes and descriptions, so aiogram raises its real exceptions.
Per-request work is O(1) apart from parsing the text, and nothing is logged per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from aiohttp import web

from tests.support import updates
from tests.support.tg_api import MethodsMixin, scope_key
from tests.support.tg_chats import ANONYMOUS_ADMIN, ChatsMixin
from tests.support.tg_files import FilesMixin
from tests.support.tg_limits import RateLimits
from tests.support.tg_observe import ObservingMixin
from tests.support.tg_rules import ApiError, CallbackAnswer, FakeStats, Faults, Msg
from tests.support.tg_strict import StrictMixin
from tests.support.tg_webhook import WebhookMixin

__all__ = ["DEFAULT_TOKEN", "ApiError", "CallbackAnswer", "FakeTelegram", "Msg", "scope_key"]

_TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
DEFAULT_TOKEN = "123456789:TEST-fake-telegram-token"
BLOCKED = "Forbidden: bot was blocked by the user"
Handler = Callable[[dict[str, Any]], Awaitable[Any]]


class FakeTelegram(
    ChatsMixin, StrictMixin, MethodsMixin, ObservingMixin, FilesMixin, WebhookMixin
):
    """Telegram Bot API double: serve it, inject updates and faults, then observe what was sent.

    As strict as Telegram by default: chats must have been seen (tg_strict), flood limits hold
    (tg_limits), HTML is parsed and counted as Telegram does (tg_html).
    """

    def __init__(self, token: str = DEFAULT_TOKEN, *, username: str = "habar_test_bot") -> None:
        self.token = token
        self.bot_user = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": "Habar",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.url = ""
        self.stats = FakeStats()
        self.faults = Faults()
        self.limits = RateLimits()
        self._init_strict()
        self._init_chats()
        self._wrote_in: set[tuple[int, int]] = set()  # (chat, user) seen writing there
        self.sent: list[Msg] = []
        self.edits: list[Msg] = []
        self.deleted: list[Msg] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.chat_actions: list[tuple[int | str, str]] = []
        self.errors: list[tuple[str, int, str]] = []  # (method, code, description)
        self.error_at: list[float] = []  # event-loop time of each entry in errors
        self.pollers = 0  # getUpdates calls waiting right now
        self._by_chat: dict[int | str, list[Msg]] = {}
        self._messages: dict[tuple[int | str, int], Msg] = {}
        self._chats: dict[int | str, dict[str, Any]] = {}
        self._queries: dict[str, dict[str, Any]] = {}
        self._updates: deque[tuple[int, str, dict[str, Any]]] = deque()
        self._allowed: frozenset[str] | None = None
        self._next_update_id = 1
        self._next_message_id = 1
        self._wake = asyncio.Event()
        self._changed = asyncio.Condition()
        self._observers = 0
        self._pokes: set[asyncio.Task[None]] = set()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._init_files()
        self._methods: dict[str, Handler] = {**self.method_table(), **self.file_methods()}

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on 127.0.0.1 at a free port and set self.url."""
        self._init_webhook()
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self.add_file_route(app)
        # handler_cancellation ends the long poll of a client that hung up, as Telegram does.
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=5, handler_cancellation=True
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def close(self) -> None:
        """End pending long polls and waits at once, then stop the server."""
        self._closing = True
        self._closed.set()
        self._wake_pollers()
        async with self._changed:
            self._changed.notify_all()
        await self._close_webhook()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await asyncio.gather(*self._pokes, return_exceptions=True)

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _handle(self, request: web.Request) -> web.Response:
        self.stats.requests += 1
        token = request.match_info["token"]
        if not _TOKEN_SHAPE.match(token):  # no such bot can exist (teloxide/teloxide#556)
            return _reply(ApiError(404, "Not Found").payload(), 404)
        if token != self.token:
            return _reply(ApiError(401, "Unauthorized").payload(), 401)
        name = request.match_info["method"]
        handler = self._methods.get(name.lower())
        if handler is None:
            return _reply(ApiError(404, "Not Found: method not found").payload(), 404)
        self.stats.calls[name] += 1
        if await self._network_fault(name.lower(), request):
            return web.Response(status=502)  # never read: the client has gone
        try:
            result = await handler(await _read_params(request))
        except ApiError as exc:
            self.stats.count_error(exc.code)
            self.errors.append((name, exc.code, exc.description))
            self.error_at.append(asyncio.get_running_loop().time())
            await self._notify()  # a test may be waiting for this error
            return _reply(exc.payload(), exc.code)
        return _reply({"ok": True, "result": result}, 200)

    # -- injecting updates -----------------------------------------------------------------

    def message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        language_code: str | None = "ru",
        chat_type: str | None = None,
        first_name: str = "Test",
        username: str | None = None,
        thread_id: int | None = None,
        anonymous: bool = False,
    ) -> int:
        """Queue a text Message from a user (a bot_command entity if it starts with '/').

        chat_type defaults to private for positive ids, else group or supergroup (-100...).
        thread_id: sent in that forum topic. anonymous: sent by an anonymous administrator,
        as the group itself (from GroupAnonymousBot, sender_chat the group).
        """
        if self.faults.chats.get(chat_id) is not None and _is_block(self.faults.chats[chat_id]):
            del self.faults.chats[chat_id]  # a user who writes again has unblocked the bot
        chat = updates.chat_for_id(chat_id) if chat_type is None else {"type": chat_type}
        if self._chats.get(chat_id, {}).get("type") != chat["type"] or chat["type"] == "private":
            self._chats[chat_id] = updates.chat(chat_id, chat["type"], first_name=first_name)
        chat = self._chats[chat_id]
        sender = updates.user(
            self._user_id(chat_id, user_id),
            first_name=first_name,
            language_code=language_code,
            username=username,
        )
        self.seen_users[sender["id"]] = sender
        self._wrote_in.add((chat_id, sender["id"]))
        extra = self._topic_fields(chat_id, thread_id)
        if thread_id:
            chat = self._chats[chat_id]  # now a forum
        if anonymous:
            sender, extra["sender_chat"] = ANONYMOUS_ADMIN, chat
        msg = updates.message(self._new_message_id(), chat, sender, text, **extra)
        return self._push("message", lambda uid: updates.message_update(uid, msg))

    def callback(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user_id: int | None = None,
        language_code: str | None = "ru",
    ) -> int:
        """Queue a tap on an inline button of a message the bot sent (as it looks now)."""
        msg = self._messages.get((chat_id, message_id))
        if msg is None:
            raise LookupError(f"the bot sent no message {message_id} to chat {chat_id}")
        if data not in [value for _, value in msg.buttons()]:
            raise ValueError(f"message {message_id} has no button {data!r}: {msg.buttons()}")
        sender = updates.user(self._user_id(chat_id, user_id), language_code=language_code)
        self.seen_users[sender["id"]] = sender
        payload = self._message_payload(msg)

        def build(uid: int) -> dict[str, Any]:
            query_id = f"cq{uid}"
            self._queries[query_id] = {"chat_id": chat_id, "message_id": message_id, "data": data}
            return updates.callback_update(uid, query_id, sender, payload, data)

        return self._push("callback_query", build)

    def migrate(self, old_chat_id: int, new_chat_id: int, *, user_id: int | None = None) -> int:
        """Upgrade a group to a supergroup: later sends to it fail with migrate_to_chat_id."""
        self.faults.chats[old_chat_id] = ApiError(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            {"migrate_to_chat_id": new_chat_id},
        )
        old = self._chats.get(old_chat_id) or updates.chat(old_chat_id, "group")
        new = {**old, "id": new_chat_id, "type": "supergroup"}
        self._chats[new_chat_id] = new
        if old_chat_id in self.known_chats:  # the bot is a member of the upgraded group
            self.known_chats.add(new_chat_id)
        for (chat, user), status in list(self.members.items()):  # the members move too
            if chat == old_chat_id:
                self.members[(new_chat_id, user)] = status
        sender = updates.user(self._user_id(old_chat_id, user_id))
        moved = updates.message(
            self._new_message_id(), old, sender, migrate_to_chat_id=new_chat_id
        )
        first = self._push("message", lambda uid: updates.message_update(uid, moved))
        arrived = updates.message(
            self._new_message_id(), new, sender, migrate_from_chat_id=old_chat_id
        )
        self._push("message", lambda uid: updates.message_update(uid, arrived))
        return first

    def _push(self, kind: str, build: Callable[[int], dict[str, Any]]) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        self._updates.append((update_id, kind, build(update_id)))
        self._wake_pollers()
        return update_id

    def _wake_pollers(self) -> None:
        # Each waiter holds the Event it saw: set it, install a fresh one, and no wake-up is lost.
        self._wake.set()
        self._wake = asyncio.Event()

    def _user_id(self, chat_id: int, user_id: int | None) -> int:
        if user_id is not None:
            return user_id
        return chat_id if chat_id > 0 else updates.DEFAULT_USER_ID

    def _new_message_id(self) -> int:
        self._next_message_id += 1
        return self._next_message_id - 1

    # -- faults ----------------------------------------------------------------------------

    def block(self, chat_id: int | str) -> None:
        """Sends to chat_id get 403 'Forbidden: bot was blocked by the user' until it writes."""
        self.register_chat(chat_id)
        self.faults.chats[chat_id] = ApiError(403, BLOCKED)

    def unblock(self, chat_id: int | str) -> None:
        """Clear any fault set on chat_id."""
        self.faults.chats.pop(chat_id, None)

    def deactivate(self, chat_id: int | str) -> None:
        """Sends to chat_id get 403 'Forbidden: user is deactivated'."""
        self.register_chat(chat_id)
        self.faults.chats[chat_id] = ApiError(403, "Forbidden: user is deactivated")

    def not_found(self, chat_id: int | str) -> None:
        """Sends to chat_id get 400 'Bad Request: chat not found'."""
        self.faults.chats[chat_id] = ApiError(400, "Bad Request: chat not found")

    def fail_next(self, n: int, status: int = 500) -> None:
        """The next n sendMessage calls get a 500 or 502 server error."""
        self.faults.fail_left, self.faults.fail_status = n, status

    def storm(self, n: int, retry_after: int = 1) -> None:
        """The next n sendMessage calls get 429 with parameters.retry_after."""
        self.faults.storm_left, self.faults.storm_retry_after = n, retry_after

    def rate_limit(
        self, per_second: float | None = None, *, per_chat_per_second: float | None = None
    ) -> None:
        """Replace Telegram's limits by a benchmark's own: overall and per chat (None: off)."""
        self.limits.set(per_second, per_chat_per_second)

    def unlimited(self, *, reason: str) -> None:
        """Switch every flood limit off; `reason` says why the test may ignore Telegram's."""
        if not reason.strip():
            raise ValueError("say why this test may send faster than Telegram allows")
        self.limits.set(None, None)

    def _chat(self, chat_id: int | str) -> dict[str, Any]:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = updates.chat_for_id(chat_id)
        return chat

    def _edited(self, old: Msg, **changes: Any) -> Msg:
        return replace(old, edit_date=updates.now_ts(), **changes)


def _is_block(error: ApiError) -> bool:
    return error.description == BLOCKED


async def _read_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if not request.can_read_body:
        return params
    if request.content_type == "application/json":
        with contextlib.suppress(ValueError):
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        return params
    form = await request.post()
    # Uploaded files (sendDocument) stay FileFields; every other field is a string.
    kept = (str, web.FileField)
    params.update((k, v) for k, v in form.items() if isinstance(v, kept) and k not in params)
    return params


def _reply(payload: dict[str, Any], status: int) -> web.Response:
    body = json.dumps(payload, ensure_ascii=False)
    return web.Response(text=body, status=status, content_type="application/json")

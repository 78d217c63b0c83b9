"""Bot API method handlers of the fake Telegram; the state they use lives on FakeTelegram."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Awaitable, Callable
from itertools import islice
from typing import Any

from tests.support.tg_rules import (
    NOT_MODIFIED,
    ApiError,
    CallbackAnswer,
    Msg,
    as_bool,
    as_json,
    check_markup,
    render,
)
from tests.support.tg_strict import QUERY_INVALID

_GIFT_KINDS = (
    "unlimited_gifts",
    "limited_gifts",
    "unique_gifts",
    "premium_subscription",
    "gifts_from_channels",
)
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")


def scope_key(scope: dict[str, Any] | None = None) -> str:
    """Return the key fake.commands uses for a BotCommandScope (None means the default)."""
    return json.dumps(scope or {"type": "default"}, sort_keys=True, separators=(",", ":"))


class MethodsMixin:
    """sendMessage, getUpdates and the other methods, written against FakeTelegram's state."""

    def method_table(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
        """Map lower-cased Bot API method names to handlers (Telegram ignores their case)."""
        return {
            "getme": self._get_me,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getupdates": self._get_updates,
            "setmycommands": self._set_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getmycommands": self._get_my_commands,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "answercallbackquery": self._answer_callback_query,
            "sendchataction": self._send_chat_action,
            "getchat": self._get_chat,
            "deletemessage": self._delete_message,
            "getchatmember": self._get_chat_member,
        }

    async def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = _int(params.get("offset"), 0)
        limit = min(max(_int(params.get("limit"), 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        allowed = as_json(params.get("allowed_updates"), "allowed_updates")
        if allowed is not None:  # Telegram remembers the last list it was given
            self._allowed = frozenset(allowed) or None
        gen = self._begin_poll()
        self._confirm(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self._check_poll(gen)
            batch = self._batch(limit)
            remaining = deadline - loop.time()
            if batch or self._closing or remaining <= 0:
                self._delivered(batch, loop.time())
                return batch
            await self._park(remaining)

    def _confirm(self, offset: int) -> None:
        queue = self._updates
        if offset < 0:
            while len(queue) > -offset:
                queue.popleft()
        while queue and queue[0][0] < offset:
            queue.popleft()

    def _batch(self, limit: int) -> list[dict[str, Any]]:
        allowed = self._allowed
        wanted = (u for _, kind, u in self._updates if allowed is None or kind in allowed)
        return list(islice(wanted, limit))

    async def _park(self, seconds: float) -> None:
        wake = self._wake
        self.pollers += 1
        await self._notify()
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await wake.wait()
        finally:
            self.pollers -= 1
            self._poke()

    async def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = as_json(params.get("commands"), "commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be a list of at most 100 commands")
        for command in commands:
            if not _COMMAND.match(str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        listed = [{"command": c["command"], "description": c["description"]} for c in commands]
        self.commands[self._commands_key(params)] = listed
        await self._notify()
        return True

    async def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self._commands_key(params)
        self.commands.pop(self._commands_key(params), None)
        await self._notify()
        return True

    async def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, str]]:
        return self.commands.get(self._commands_key(params), [])

    def _commands_key(self, params: dict[str, Any]) -> tuple[str, str]:
        scope = as_json(params.get("scope"), "scope")
        self._require_scope(scope)
        return scope_key(scope), params.get("language_code") or ""

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = chat_param(params)
        now = asyncio.get_running_loop().time()
        self.faults.check_send()
        self._require_writable(chat_id)
        self.faults.check_chat(chat_id)
        thread_id = self._check_thread(chat_id, params)
        self.limits.check(chat_id, now)
        rendered = render(params)
        markup = check_markup(params.get("reply_markup"))
        self.limits.note(chat_id, now)
        msg = Msg(
            chat_id,
            self._new_message_id(),
            rendered.text,
            params["text"],
            params.get("parse_mode") or None,
            rendered.entities,
            rendered.dropped,
            _links(rendered.entities),
            markup,
            *_previews(params),
            int(time.time()),
            now,
            thread_id=thread_id,
        )
        self._record(msg)
        await self._notify()
        return self._message_payload(msg)

    def _target(self, params: dict[str, Any]) -> Msg:
        if params.get("inline_message_id"):
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")  # inline mode is not faked
        chat_id = chat_param(params)
        self._require_chat(chat_id)
        self.faults.check_chat(chat_id)
        old = self._messages.get((chat_id, _int(params.get("message_id"), 0)))
        if old is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return old

    async def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        old = self._target(params)
        rendered = render(params)
        markup = check_markup(params.get("reply_markup"))  # omitted: the keyboard goes away
        new_content = (rendered.text, rendered.entities, markup)
        if new_content == (old.text, old.entities, old.reply_markup):
            raise ApiError(400, NOT_MODIFIED)
        self._count_edit(old.chat_id)
        disabled, options = _previews(params)
        new = self._edited(
            old,
            text=rendered.text,
            html=params["text"],
            parse_mode=params.get("parse_mode") or None,
            entities=rendered.entities,
            entities_dropped=rendered.dropped,
            links=_links(rendered.entities),
            reply_markup=markup,
            link_preview_disabled=disabled,
            link_preview_options=options,
        )
        self._record_edit(new)
        await self._notify()
        return self._message_payload(new)

    async def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        old = self._target(params)
        markup = check_markup(params.get("reply_markup"))
        if markup == old.reply_markup:
            raise ApiError(400, NOT_MODIFIED)
        self._count_edit(old.chat_id)
        new = self._edited(old, reply_markup=markup)
        self._record_edit(new)
        await self._notify()
        return self._message_payload(new)

    async def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        query = self._queries.pop(query_id, None)
        if query is None or self._query_expired(query_id, asyncio.get_running_loop().time()):
            raise ApiError(400, QUERY_INVALID)
        answer = CallbackAnswer(
            query_id,
            params.get("text") or None,
            as_bool(params.get("show_alert")),
            params.get("url") or None,
            **query,
        )
        self.callback_answers.append(answer)
        await self._notify()
        return True

    async def _send_chat_action(self, params: dict[str, Any]) -> bool:
        chat_id = chat_param(params)
        self._require_writable(chat_id)
        self.faults.check_chat(chat_id)
        self.chat_actions.append((chat_id, str(params.get("action") or "")))
        return True

    async def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = chat_param(params)
        self._require_chat(chat_id)
        self.faults.check_chat(chat_id)
        gifts = dict.fromkeys(_GIFT_KINDS, False)
        extra = {"accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts}
        return {**self._chat(chat_id), **extra}  # a ChatFullInfo

    async def _delete_message(self, params: dict[str, Any]) -> bool:
        chat_id = chat_param(params)
        self._require_chat(chat_id)
        self.faults.check_chat(chat_id)
        msg = self._messages.pop((chat_id, _int(params.get("message_id"), 0)), None)
        if msg is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        self.deleted.append(msg)
        await self._notify()
        return True

    def _count_edit(self, chat_id: int | str) -> None:
        # Edits are counted against the same flood limits as new messages.
        now = asyncio.get_running_loop().time()
        self.limits.check(chat_id, now)
        self.limits.note(chat_id, now)

    def _message_payload(self, msg: Msg) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "message_id": msg.message_id,
            "from": self.bot_user,
            "chat": self._chat(msg.chat_id),
            "date": msg.date,
            "text": msg.text,
        }
        if msg.entities:
            payload["entities"] = msg.entities
        if msg.reply_markup is not None:
            payload["reply_markup"] = msg.reply_markup
        if msg.edit_date is not None:
            payload["edit_date"] = msg.edit_date
        if msg.thread_id is not None:
            payload.update(message_thread_id=msg.thread_id, is_topic_message=True)
        return payload


def _int(value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: invalid integer value {value!r}") from None


def chat_param(params: dict[str, Any]) -> int | str:
    """The chat_id parameter: a number, or "@channelusername"; 400 when it is empty."""
    raw = params.get("chat_id")
    if raw is None or raw == "":
        raise ApiError(400, "Bad Request: chat_id is empty")
    try:
        return int(raw)
    except (TypeError, ValueError):
        return str(raw)  # "@channelusername"


def _links(entities: list[dict[str, Any]]) -> list[str]:
    return [e["url"] for e in entities if e["type"] == "text_link"]


def _previews(params: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
    options = as_json(params.get("link_preview_options"), "link preview options") or None
    disabled = as_bool(params.get("disable_web_page_preview"))
    return disabled or bool(options and options.get("is_disabled") is True), options

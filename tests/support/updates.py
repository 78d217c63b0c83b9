"""Builders of Bot API update payloads (plain dicts), shaped like the ones Telegram sends.

They serve the fake Telegram's injection methods and also work with
`Dispatcher.feed_raw_update(bot, update)` in tests that need no HTTP at all.
"""

from __future__ import annotations

import time
from typing import Any

from tests.support.tg_html import utf16_len

DEFAULT_USER_ID = 700_000_001
SUPERGROUP_IDS_FROM = -1_000_000_000_000  # supergroup and channel ids are -100 and 10 digits


def now_ts() -> int:
    """Return the current Unix time in whole seconds, as Telegram dates are."""
    return int(time.time())


def user(
    user_id: int,
    *,
    first_name: str = "Test",
    language_code: str | None = "ru",
    username: str | None = None,
) -> dict[str, Any]:
    """Build a User object for a person (never a bot)."""
    payload: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if username:
        payload["username"] = username
    if language_code:
        payload["language_code"] = language_code
    return payload


def chat(
    chat_id: int,
    chat_type: str = "private",
    *,
    first_name: str = "Test",
    title: str | None = None,
) -> dict[str, Any]:
    """Build a Chat object: private chats carry a name, groups and channels a title."""
    if chat_type == "private":
        return {"id": chat_id, "type": "private", "first_name": first_name}
    return {"id": chat_id, "type": chat_type, "title": title or f"Group {chat_id}"}


def chat_for_id(chat_id: int | str) -> dict[str, Any]:
    """Guess a minimal Chat for an id the bot writes to without having seen it."""
    if isinstance(chat_id, str):
        return {"id": -1000000000000, "type": "channel", "title": chat_id, "username": chat_id}
    if chat_id > 0:
        return chat(chat_id)
    return chat(chat_id, "supergroup" if chat_id <= SUPERGROUP_IDS_FROM else "group")


def command_entities(text: str) -> list[dict[str, Any]]:
    """Return the bot_command entity Telegram adds when a text starts with '/'."""
    if not text.startswith("/") or len(text) < 2:
        return []
    command = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]


def message(
    message_id: int,
    chat_obj: dict[str, Any],
    from_user: dict[str, Any] | None,
    text: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Build a Message; extra fields (entities, reply_markup, migrate_to_chat_id...) are kept."""
    payload: dict[str, Any] = {"message_id": message_id, "date": now_ts(), "chat": chat_obj}
    if from_user is not None:
        payload["from"] = from_user
    if text is not None:
        payload["text"] = text
        entities = command_entities(text)
        if entities:
            payload["entities"] = entities
    payload.update({k: v for k, v in extra.items() if v is not None})
    return payload


def message_update(update_id: int, msg: dict[str, Any]) -> dict[str, Any]:
    """Wrap a Message into an Update."""
    return {"update_id": update_id, "message": msg}


def callback_update(
    update_id: int,
    query_id: str,
    from_user: dict[str, Any],
    msg: dict[str, Any],
    data: str,
) -> dict[str, Any]:
    """Build an Update with a callback_query: a tap on an inline button of msg."""
    query = {
        "id": query_id,
        "from": from_user,
        "message": msg,
        "chat_instance": str(msg["chat"]["id"]),
        "data": data,
    }
    return {"update_id": update_id, "callback_query": query}

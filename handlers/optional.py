"""Telegram calls that only tidy up after the user's request: their known refusals are not errors.

Answering a tap after Telegram's 15-second window, editing a message into what it already
shows, or editing or deleting a message the user has deleted: Telegram refuses each with a
400, and none of them means the user's request failed. Such a refusal is logged and the update
goes on; any other error still reaches the errors router.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TypeVar

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery

log = logging.getLogger(__name__)
T = TypeVar("T")

# Lower-cased fragments of Telegram's descriptions -> how loud the refusal is logged.
REFUSALS: dict[str, int] = {
    "message is not modified": logging.DEBUG,  # two taps raced to the same state
    "query is too old": logging.INFO,  # the tap waited more than 15 s, or was answered
    "query id is invalid": logging.INFO,
    "message to edit not found": logging.INFO,  # the user deleted the message
    "message can't be edited": logging.INFO,  # older than 48 hours
    "message to delete not found": logging.INFO,
    "message can't be deleted": logging.INFO,
}


def refusal_level(exc: TelegramBadRequest) -> int | None:
    """The log level of a harmless refusal, or None for an error that matters."""
    description = exc.message.lower()
    return next((lvl for text, lvl in REFUSALS.items() if text in description), None)


async def optional(call: Awaitable[T], what: str) -> T | None:
    """Await a tidying-up Telegram call; None (logged) if Telegram refused it harmlessly."""
    try:
        return await call
    except TelegramBadRequest as exc:
        level = refusal_level(exc)
        if level is None:
            raise
        log.log(level, "%s skipped: %s", what, exc.message)
        return None


async def answer(query: CallbackQuery, text: str | None = None, *, alert: bool = False) -> None:
    """Answer a button tap (stops its spinner); a tap Telegram has expired is only logged."""
    await optional(query.answer(text, show_alert=alert), "answering a button tap")

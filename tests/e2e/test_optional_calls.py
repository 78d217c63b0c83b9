"""Telegram's harmless refusals of tidying-up calls: handled where they happen, never errors.

Each test makes Telegram refuse one optional call the way it does in real use, then checks
what a user and an operator would notice: the tap is answered (no spinner), the update is
handled, nothing is logged as an error, and one line says what was skipped.
"""

from __future__ import annotations

import logging

import pytest

from tests.e2e.conftest import Chat, Habar
from tests.support.fake_telegram import FakeTelegram, Msg


async def _shown(habar: Habar, fake: FakeTelegram, chat_id: int, command: str) -> tuple[Chat, Msg]:
    """A subscribed chat with the keyboard of `command` on screen, the bot idle."""
    chat = Chat(fake, chat_id, language_code="en")
    await chat.ask("/start")
    shown = await chat.ask(command)
    await habar.app.inflight.wait_idle(10)
    return chat, shown


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_two_taps_racing_to_the_same_state_are_both_answered_without_an_error(
    habar: Habar, fake_tg: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="handlers.optional")
    chat, shown = await _shown(habar, fake_tg, 5101, "/settings")
    before = habar.app.inflight.handled
    answers = len(fake_tg.callback_answers)
    # Both taps leave the client before the bot redraws: the second edit would change nothing.
    fake_tg.callback(chat.chat_id, shown.message_id, "ui:kk", language_code="en")
    fake_tg.callback(chat.chat_id, shown.message_id, "ui:kk", language_code="en")
    await habar.app.inflight.wait_handled(before + 2, 10)

    assert len(fake_tg.callback_answers) == answers + 2
    assert "Тілдер" in chat.now(shown).text
    assert ("editMessageText", 400) in [(m, c) for m, c, _ in fake_tg.errors]
    assert _errors(caplog) == []
    assert any(
        "redrawing a message skipped" in r.getMessage() and "not modified" in r.getMessage()
        for r in caplog.records
    )


async def test_a_tap_answered_after_telegrams_15_seconds_is_handled_and_only_logged(
    habar: Habar, fake_tg: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="handlers.optional")
    chat, shown = await _shown(habar, fake_tg, 5201, "/lang")
    before = habar.app.inflight.handled
    fake_tg.callback(chat.chat_id, shown.message_id, "lg:kk", language_code="en")
    fake_tg.age_callback_queries(20)  # the bot sees the tap only after Telegram gave up on it
    await habar.app.inflight.wait_handled(before + 1, 10)

    assert (await habar.app.res.subs.require(chat.chat_id)).langs is not None  # not all now
    assert any(m == "answerCallbackQuery" and c == 400 for m, c, _ in fake_tg.errors)
    assert _errors(caplog) == []
    assert any("answering a button tap skipped" in r.getMessage() for r in caplog.records)


async def test_a_tap_on_a_message_the_user_deleted_changes_the_setting_and_answers(
    habar: Habar, fake_tg: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="handlers.optional")
    chat, shown = await _shown(habar, fake_tg, 5301, "/schedule")
    answers = len(fake_tg.callback_answers)
    fake_tg.callback(chat.chat_id, shown.message_id, "sc|hourly", language_code="en")
    fake_tg.user_deletes(chat.chat_id, shown.message_id)  # before the bot redraws it
    await fake_tg.wait_until(lambda: len(fake_tg.callback_answers) > answers)

    assert (fake_tg.callback_answers[-1].text or "").startswith("Schedule:")
    assert (await habar.app.res.subs.require(chat.chat_id)).schedule == "hourly"
    assert _errors(caplog) == []
    assert any("message to edit not found" in r.getMessage() for r in caplog.records)

"""Telegram's harmless refusals of tidying-up calls: handled where they happen, never errors.

Each test makes Telegram refuse one optional call the way it does in real use, then checks
what a user and an operator would notice: the tap is answered (no spinner), the update is
handled, nothing is logged as an error, and one line says what was skipped.
"""

from __future__ import annotations

import logging

import pytest

from tests.e2e.conftest import Chat, Habar
from tests.support.fake_telegram import FakeTelegram


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_two_taps_racing_to_the_same_state_are_both_answered_without_an_error(
    habar: Habar, fake_tg: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="handlers.optional")
    chat = Chat(fake_tg, 5101, language_code="en")
    await chat.ask("/start")
    shown = await chat.ask("/settings")
    await habar.app.inflight.wait_idle(10)
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

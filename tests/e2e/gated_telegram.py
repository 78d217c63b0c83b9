"""The fake Telegram with a gate per chat: sends are accepted, their answers held back.

A crash or a stop between "Telegram accepted the message" and "the bot recorded it" is the
one window where a digest part can repeat. Holding the answer to a send opens that window
on purpose, so a test knows exactly which message is in flight when it stops the bot.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from tests.support.fake_telegram import FakeTelegram, Msg


@dataclass
class _Gate:
    passes: int  # sends still let through before holding starts
    holds: int | None  # sends still to hold once holding started (None: every one)
    opened: asyncio.Event = field(default_factory=asyncio.Event)


class GatedTelegram(FakeTelegram):
    """FakeTelegram whose sends to chosen chats wait, after being accepted, for release()."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self._gates: dict[int | str, _Gate] = {}
        self.held: list[Msg] = []  # accepted messages whose answer is being held back now

    def hold(self, chat_id: int | str, *, after: int = 0, count: int | None = None) -> None:
        """Let `after` sends to chat_id through, then hold the answers to the next `count`
        (None: all of them). A held answer waits for release() or for the bot to hang up."""
        self._gates[chat_id] = _Gate(after, count)

    def release(self, chat_id: int | str) -> None:
        """Answer the held sends to chat_id, and let later ones through at once."""
        gate = self._gates.pop(chat_id, None)
        if gate is not None:
            gate.opened.set()

    async def close(self) -> None:
        """Release every gate, then close as FakeTelegram does."""
        for chat_id in list(self._gates):
            self.release(chat_id)
        await super().close()

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        result = await super()._send_message(params)
        chat_id = result["chat"]["id"]
        gate = self._gates.get(chat_id)
        if gate is None:
            return result
        if gate.passes > 0:
            gate.passes -= 1
            return result
        if gate.holds is not None:
            if gate.holds == 0:
                return result
            gate.holds -= 1
        msg = self.current(chat_id, result["message_id"])
        self.held.append(msg)
        await self._notify()
        try:
            await gate.opened.wait()  # cancelled when the bot hangs up: accepted all the same
        finally:
            self.held.remove(msg)
            self._poke()
        return result

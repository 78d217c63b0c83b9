"""What a test reads from the fake Telegram: sent messages, and waits on a Condition."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tests.support.tg_api import scope_key
from tests.support.tg_rules import Msg


class ObservingMixin:
    """Read and wait for what the bot did; the state lives on FakeTelegram."""

    def sent_to(self, chat_id: int | str) -> list[Msg]:
        """Return the messages accepted for one chat, oldest first."""
        return list(self._by_chat.get(chat_id, ()))

    def current(self, chat_id: int | str, message_id: int) -> Msg:
        """Return a sent message as it looks now, after any edits."""
        return self._messages[(chat_id, message_id)]

    def commands_for(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[tuple[str, str]]:
        """Return (command, description) pairs set for a scope and language."""
        listed = self.commands.get((scope_key(scope), language_code), [])
        return [(c["command"], c["description"]) for c in listed]

    async def wait_until(
        self,
        check: Callable[[], bool],
        timeout: float = 10,  # noqa: ASYNC109 - a deadline per wait reads best in tests
    ) -> None:
        """Wait on a Condition, re-checking after every recorded change, until check() holds."""
        self._observers += 1
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: check() or self._closing)
        except TimeoutError:
            raise AssertionError(f"timed out after {timeout}s; {self._summary()}") from None
        finally:
            self._observers -= 1
        if not check():
            raise AssertionError(f"the fake closed while waiting; {self._summary()}")

    async def wait_sent(
        self,
        pred: Callable[[Msg], bool] | None = None,
        *,
        chat_id: int | str | None = None,
        count: int = 1,
        after: int = 0,
        timeout: float = 10,  # noqa: ASYNC109 - see wait_until
    ) -> list[Msg]:
        """Wait until count accepted messages match pred; return all matches found.

        Scans fake.sent (or sent_to(chat_id) when given) from index `after`.
        """
        source = self.sent if chat_id is None else self._by_chat.setdefault(chat_id, [])
        found: list[Msg] = []
        scanned = after

        def check() -> bool:
            nonlocal scanned
            while scanned < len(source):
                msg = source[scanned]
                scanned += 1
                if pred is None or pred(msg):
                    found.append(msg)
            return len(found) >= count

        await self.wait_until(check, timeout)
        return found

    def _summary(self) -> str:
        texts = [m.text[:60] for m in self.sent[-5:]]
        return f"last sent: {texts}; last errors: {self.errors[-5:]}"

    def _poke(self) -> None:
        # For code that cannot await, such as a long poll being cancelled.
        if self._observers:
            task = asyncio.get_running_loop().create_task(self._notify())
            self._pokes.add(task)
            task.add_done_callback(self._pokes.discard)

    async def _notify(self) -> None:
        if self._observers:
            async with self._changed:
                self._changed.notify_all()

    def _record(self, msg: Msg) -> None:
        self.sent.append(msg)
        self._by_chat.setdefault(msg.chat_id, []).append(msg)
        self._messages[(msg.chat_id, msg.message_id)] = msg
        self.stats.accepted += 1

    def _record_edit(self, msg: Msg) -> None:
        self._messages[(msg.chat_id, msg.message_id)] = msg
        self.edits.append(msg)

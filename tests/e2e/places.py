"""Helpers for the place tests: a member, an administrator or an anonymous administrator
writing in a group, a forum topic or about a channel, seen from their side."""

from __future__ import annotations

from tests.e2e.conftest import Habar
from tests.support.fake_telegram import CallbackAnswer, FakeTelegram, Msg

REFUSAL_EN = "Only this chat's administrators can change that. Nothing was changed."


class Member:
    """One person (or an anonymous administrator) writing in a group or one of its topics."""

    def __init__(
        self,
        fake: FakeTelegram,
        chat_id: int,
        user_id: int,
        *,
        thread_id: int | None = None,
        anonymous: bool = False,
        chat_type: str = "supergroup",
    ) -> None:
        self.fake = fake
        self.chat_id = chat_id
        self.user_id = user_id
        self.thread_id = thread_id
        self.anonymous = anonymous
        self.chat_type = chat_type

    def say(self, text: str) -> int:
        """Send without waiting; returns how many messages the chat had before."""
        before = len(self.fake.sent_to(self.chat_id))
        self.fake.message(
            self.chat_id,
            text,
            user_id=self.user_id,
            language_code="en",
            chat_type=self.chat_type,
            thread_id=self.thread_id,
            anonymous=self.anonymous,
        )
        return before

    async def ask(self, text: str) -> Msg:
        """Send and return the bot's next message in the chat."""
        before = self.say(text)
        [reply] = await self.fake.wait_sent(chat_id=self.chat_id, after=before, count=1)
        return reply

    async def tap(self, msg: Msg, data: str) -> CallbackAnswer:
        """Tap a button of `msg` and return the bot's answer to the tap."""
        answers = self.fake.callback_answers
        before = len(answers)
        self.fake.callback(self.chat_id, msg.message_id, data, user_id=self.user_id)
        await self.fake.wait_until(lambda: len(answers) > before, 10)
        return answers[before]

    async def silent(self, habar: Habar, text: str) -> None:
        """Send, wait until the bot handled it, and check it sent nothing back."""
        before = len(self.fake.sent_to(self.chat_id))
        await habar.handled(lambda: self.say(text), 1)
        assert self.fake.sent_to(self.chat_id)[before:] == []

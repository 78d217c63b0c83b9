"""Admin rights follow the person who writes, not the chat the command is written in."""

from __future__ import annotations

from tests.e2e.conftest import ADMIN, USER, Chat, Habar
from tests.support.fake_telegram import FakeTelegram

REFUSAL = "Эта команда только для администраторов. Ничего не изменено."


async def test_a_group_whose_id_is_an_admins_id_gets_no_admin_commands(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    group = Chat(fake_tg, ADMIN, user_id=USER, language_code="ru", chat_type="group")
    assert (await group.ask("/feeds")).text == REFUSAL
    assert (await group.ask("/stats")).text == REFUSAL


async def test_an_admin_writing_in_a_group_is_still_an_admin(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    group = Chat(fake_tg, -100777, user_id=ADMIN, language_code="en", chat_type="group")
    assert (await group.ask("/feeds")).text.startswith("No feeds yet.")

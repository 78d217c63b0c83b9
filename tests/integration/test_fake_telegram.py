"""The fake Telegram answers aiogram's real HTTP client the way Telegram does."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.exceptions import (
    TelegramBadRequest,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
)

from tests.integration.conftest import make_bot
from tests.support.fake_telegram import FakeTelegram

CHAT = 1001


@pytest.fixture(autouse=True)
def subscriber(fake: FakeTelegram) -> None:
    """CHAT is a user who pressed Start before, so the bot may write to them."""
    fake.register_chat(CHAT)


def keyboard(*data: str) -> InlineKeyboardMarkup:
    """Build an inline keyboard with one button per callback_data value."""
    buttons = [[InlineKeyboardButton(text=f"b{i}", callback_data=d)] for i, d in enumerate(data)]
    return InlineKeyboardMarkup(inline_keyboard=buttons)


async def test_get_me_returns_the_bot_named_by_the_token(bot: Bot, fake: FakeTelegram) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (bot.id, "habar_test_bot", True)
    assert fake.stats.calls["getMe"] == 1


async def test_html_message_is_stored_as_the_user_sees_it(bot: Bot, fake: FakeTelegram) -> None:
    html = '<b>Жаңалықтар</b> &amp; <a href="https://kaz.kz/a?x=1&y=2">оқу</a>'
    reply = await bot.send_message(
        CHAT, html, parse_mode="HTML", link_preview_options=LinkPreviewOptions(is_disabled=True)
    )
    [msg] = fake.sent_to(CHAT)
    assert (msg.text, msg.html, msg.parse_mode) == ("Жаңалықтар & оқу", html, "HTML")
    assert msg.links == ["https://kaz.kz/a?x=1&y=2"] and msg.entities_dropped == 0
    assert msg.link_preview_disabled is True
    assert reply.message_id == msg.message_id and reply.entities[0].type == "bold"


async def test_previews_count_as_enabled_unless_the_bot_turns_them_off(
    bot: Bot, fake: FakeTelegram
) -> None:
    fake.unlimited(reason="sends several texts to one chat at once to check parsing only")
    await bot.send_message(CHAT, "https://kaz.kz")
    await bot.send_message(CHAT, "https://kaz.kz", disable_web_page_preview=True)
    assert [m.link_preview_disabled for m in fake.sent] == [False, True]


@pytest.mark.parametrize(
    ("markup", "reason"),
    [
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<br>", 'Unsupported start tag "br"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
    ],
)
async def test_markup_telegram_cannot_parse_is_refused(
    bot: Bot, fake: FakeTelegram, markup: str, reason: str
) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities") as caught:
        await bot.send_message(CHAT, markup, parse_mode="HTML")
    assert reason in caught.value.message
    assert fake.sent == [] and fake.stats.bad_requests == 1


async def test_escaped_text_and_telegram_tags_are_accepted(bot: Bot, fake: FakeTelegram) -> None:
    html = (
        "1 &lt; 2 &#1179; &nbsp; <i>i</i><s>s</s><u>u</u><code>c</code>"
        '<tg-spoiler>p</tg-spoiler><blockquote expandable>q</blockquote><pre><code class="'
        'language-python">x</code></pre>'
    )
    await bot.send_message(CHAT, html, parse_mode="HTML")
    [msg] = fake.sent
    assert msg.text == "1 < 2 қ &nbsp; isucpqx"
    kinds = [e["type"] for e in msg.entities]
    assert kinds[-2:] == ["expandable_blockquote", "pre"] and msg.entities[-1]["language"]


async def test_length_limit_counts_utf16_units_after_parsing(bot: Bot, fake: FakeTelegram) -> None:
    fake.unlimited(reason="sends several texts to one chat at once to check parsing only")
    fits = "😀" + "a" * 4094  # the emoji is two UTF-16 units: 4096 in all
    await bot.send_message(CHAT, fits)
    await bot.send_message(CHAT, f"<b>{'я' * 4096}</b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(CHAT, fits + "a")  # 4096 code points but 4097 units
    assert [len(m.text) for m in fake.sent] == [4095, 4096]


async def test_blank_text_is_refused_as_empty(bot: Bot, fake: FakeTelegram) -> None:
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(CHAT, "<b> </b>", parse_mode="HTML")
    assert fake.sent == []


async def test_callback_data_may_be_64_bytes_but_not_65(bot: Bot, fake: FakeTelegram) -> None:
    fake.unlimited(reason="sends several texts to one chat at once to check parsing only")
    await bot.send_message(CHAT, "ok", reply_markup=keyboard("д" * 32))  # 64 bytes
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(CHAT, "no", reply_markup=keyboard("д" * 32 + "x"))
    assert [m.text for m in fake.sent] == ["ok"]


async def test_links_past_the_hundredth_entity_are_dropped(bot: Bot, fake: FakeTelegram) -> None:
    html = " ".join(f'<a href="https://kaz.kz/{i}">{i}</a>' for i in range(101))
    await bot.send_message(CHAT, html, parse_mode="HTML")
    [msg] = fake.sent
    assert (len(msg.links), msg.entities_dropped) == (100, 1)


async def test_edit_with_identical_content_is_not_modified(bot: Bot, fake: FakeTelegram) -> None:
    fake.unlimited(reason="sends several texts to one chat at once to check parsing only")
    sent = await bot.send_message(
        CHAT, "<b>Тілдер</b>", parse_mode="HTML", reply_markup=keyboard("l")
    )
    same = {"chat_id": CHAT, "message_id": sent.message_id, "parse_mode": "HTML"}
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(text="<b>Тілдер</b>", reply_markup=keyboard("l"), **same)
    await bot.edit_message_text(text="<b>Тілдер: kk</b>", reply_markup=keyboard("l"), **same)
    await bot.edit_message_reply_markup(chat_id=CHAT, message_id=sent.message_id)
    now = fake.current(CHAT, sent.message_id)
    assert [e.text for e in fake.edits] == ["Тілдер: kk", "Тілдер: kk"]
    assert now.reply_markup is None and now.edit_date is not None


async def test_commands_are_kept_per_scope_and_language(bot: Bot, fake: FakeTelegram) -> None:
    fake.register_chat(7)  # an admin who wrote to the bot before
    admin = BotCommandScopeChat(chat_id=7)
    await bot.set_my_commands(
        [BotCommand(command="start", description="Бастау")], language_code="kk"
    )
    await bot.set_my_commands([BotCommand(command="addfeed", description="Add")], scope=admin)
    assert fake.commands_for(language_code="kk") == [("start", "Бастау")]
    assert fake.commands_for(admin.model_dump()) == [("addfeed", "Add")]
    assert [c.command for c in await bot.get_my_commands(scope=admin)] == ["addfeed"]
    await bot.delete_my_commands(scope=admin)
    assert fake.commands_for(admin.model_dump()) == [] and fake.commands_for() == []


async def test_unknown_method_wrong_token_and_json_bodies(fake: FakeTelegram) -> None:
    fake.register_chat(5)
    base = f"{fake.url}/bot{fake.token}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/sendSticker", data={"chat_id": "1"}) as resp:
            assert (resp.status, await resp.json()) == (
                404,
                {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
            )
        async with http.post(f"{fake.url}/bot1:wrong/getMe") as resp:
            assert resp.status == 401
        markup = {"inline_keyboard": [[{"text": "a", "callback_data": "a"}]]}
        body = {"chat_id": 5, "text": "json", "reply_markup": markup}
        async with http.post(f"{base}/sendMessage", json=body) as resp:
            assert resp.status == 200 and (await resp.json())["result"]["chat"]["id"] == 5
    assert fake.sent_to(5)[0].buttons() == [("a", "a")]


async def test_long_poll_returns_as_soon_as_an_update_is_queued(
    bot: Bot, fake: FakeTelegram
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=50))
    await fake.wait_until(lambda: fake.pollers == 1)
    update_id = fake.message(CHAT, "/start payload", language_code="kk")
    [update] = await poll
    assert update.update_id == update_id and update.message.text == "/start payload"
    assert update.message.entities[0].type == "bot_command"
    assert update.message.from_user.language_code == "kk"
    assert await bot.get_updates(offset=update_id + 1) == []


async def test_closing_the_fake_ends_a_pending_long_poll() -> None:
    fake = FakeTelegram()
    await fake.start()
    bot = make_bot(fake)
    try:
        poll = asyncio.create_task(bot.get_updates(timeout=60))
        await fake.wait_until(lambda: fake.pollers == 1)
        await fake.close()
        assert await asyncio.wait_for(poll, 5) == []
    finally:
        await fake.close()
        await bot.session.close()


async def test_a_callback_query_can_be_answered_once(bot: Bot, fake: FakeTelegram) -> None:
    sent = await bot.send_message(CHAT, "Тақырыптар", reply_markup=keyboard("t:sport"))
    with pytest.raises(ValueError, match="no button"):
        fake.callback(CHAT, sent.message_id, "t:other")
    fake.callback(CHAT, sent.message_id, "t:sport", language_code="kk")
    [update] = await bot.get_updates()
    query = update.callback_query
    assert (query.data, query.message.text, query.from_user.language_code) == (
        "t:sport",
        "Тақырыптар",
        "kk",
    )
    await bot.answer_callback_query(query.id, text="Сақталды")
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)
    assert [(a.text, a.data) for a in fake.callback_answers] == [("Сақталды", "t:sport")]


async def test_wait_sent_fails_with_what_was_sent_instead(bot: Bot, fake: FakeTelegram) -> None:
    await bot.send_message(CHAT, "something else")
    with pytest.raises(AssertionError, match="something else"):
        await fake.wait_sent(lambda m: m.text == "wanted", timeout=0.05)


def build_router() -> Router:
    """Build a router that greets /start with a button and edits the message on a tap."""
    router = Router()

    @router.message(CommandStart())
    async def cmd_start(message: Message) -> None:
        await message.answer("<b>Сәлем!</b>", parse_mode="HTML", reply_markup=keyboard("go"))

    @router.callback_query(F.data == "go")
    async def on_go(callback: CallbackQuery) -> None:
        await callback.answer("ok")
        await callback.message.edit_text("<i>Дайын</i>", parse_mode="HTML")

    return router


async def test_dispatcher_polls_replies_and_stops_cleanly(
    bot: Bot, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    fake.unlimited(reason="a bare Dispatcher has no 429 retry; it edits right after replying")
    caplog.set_level(logging.WARNING)
    dp = Dispatcher()
    dp.include_router(build_router())
    polling = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, close_bot_session=False, polling_timeout=30)
    )
    fake.message(CHAT, "/start")
    [reply] = await fake.wait_sent(chat_id=CHAT)
    fake.callback(CHAT, reply.message_id, "go")
    await fake.wait_until(lambda: bool(fake.edits and fake.callback_answers))
    await dp.stop_polling()
    await asyncio.wait_for(polling, 10)
    await fake.wait_until(lambda: fake.pollers == 0)  # the hung-up long poll was ended
    assert reply.text == "Сәлем!" and fake.edits[0].text == "Дайын"
    assert fake.callback_answers[0].text == "ok" and fake.callback_answers[0].data == "go"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []

"""The fake Telegram refuses, by default, what Telegram refuses: one test per rule."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeChatMember

from tests.integration.conftest import make_bot
from tests.integration.test_fake_telegram import keyboard
from tests.support.fake_telegram import FakeTelegram
from tests.support.tg_strict import POLL_CONFLICT

USER = 1001
GROUP = -1001234567890


async def test_a_chat_the_bot_never_saw_is_not_found_by_any_method(
    bot: Bot, fake: FakeTelegram
) -> None:
    menu = [BotCommand(command="stats", description="Stats")]
    calls = [
        bot.send_message(USER, "hi"),
        bot.get_chat(USER),
        bot.send_chat_action(USER, "typing"),
        bot.edit_message_text("x", chat_id=USER, message_id=1),
        bot.delete_message(USER, 1),
        bot.set_my_commands(menu, scope=BotCommandScopeChat(chat_id=USER)),
        bot.get_my_commands(scope=BotCommandScopeChat(chat_id=USER)),
        bot.delete_my_commands(scope=BotCommandScopeChatMember(chat_id=GROUP, user_id=USER)),
    ]
    for call in calls:
        with pytest.raises(TelegramBadRequest, match="Bad Request: chat not found"):
            await call
    assert fake.sent == [] and fake.commands == {}


async def test_a_chat_becomes_known_when_its_update_is_delivered(
    bot: Bot, fake: FakeTelegram
) -> None:
    fake.message(USER, "/start")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(USER, "too early: the bot has not received the update yet")
    [update] = await bot.get_updates()
    await bot.send_message(update.message.chat.id, "welcome")
    scope = BotCommandScopeChat(chat_id=USER)
    await bot.set_my_commands([BotCommand(command="stats", description="Stats")], scope=scope)
    assert [m.text for m in fake.sent_to(USER)] == ["welcome"]
    assert fake.commands_for(scope.model_dump()) == [("stats", "Stats")]


async def test_registered_chats_are_known_without_an_update(bot: Bot, fake: FakeTelegram) -> None:
    fake.register_chat(USER)
    fake.register_chat(GROUP, "supergroup", title="News")
    await bot.send_message(USER, "a subscriber from before")
    await bot.send_message(GROUP, "a group from before")
    assert (await bot.get_chat(GROUP)).title == "News"
    assert [m.chat_id for m in fake.sent] == [USER, GROUP]


async def test_a_user_seen_only_in_a_group_cannot_be_written_to_first(
    bot: Bot, fake: FakeTelegram
) -> None:
    fake.message(GROUP, "hello all", user_id=USER)
    await bot.get_updates()
    assert (await bot.get_chat(USER)).id == USER  # the bot knows the user
    with pytest.raises(
        TelegramForbiddenError, match="bot can't initiate conversation with a user"
    ):
        await bot.send_message(USER, "hi")
    await bot.send_message(GROUP, "the group itself is fine")
    assert [m.chat_id for m in fake.sent] == [GROUP]


async def test_a_second_long_poll_ends_the_first_with_409(fake: FakeTelegram) -> None:
    first, second = make_bot(fake), make_bot(fake)
    try:
        older = asyncio.create_task(first.get_updates(timeout=30))
        await fake.wait_until(lambda: fake.pollers == 1)
        newer = asyncio.create_task(second.get_updates(timeout=30))
        with pytest.raises(TelegramConflictError) as caught:
            await older
        assert POLL_CONFLICT in caught.value.message
        fake.message(USER, "/start")
        assert [u.message.text for u in await newer] == ["/start"]
    finally:
        await first.session.close()
        await second.session.close()


async def test_edits_that_change_nothing_are_not_modified(bot: Bot, fake: FakeTelegram) -> None:
    fake.register_chat(USER)
    sent = await bot.send_message(USER, "<b>Тілдер</b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "<b>Тілдер</b>", chat_id=USER, message_id=sent.message_id, parse_mode="HTML"
        )
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=USER, message_id=sent.message_id)
    assert fake.edits == []


async def _delivered_query(bot: Bot, fake: FakeTelegram) -> str:
    fake.register_chat(USER)
    sent = await bot.send_message(USER, "Тақырыптар", reply_markup=keyboard("t:sport"))
    fake.callback(USER, sent.message_id, "t:sport")
    [update] = await bot.get_updates()
    return update.callback_query.id


async def test_a_callback_query_older_than_15_seconds_cannot_be_answered(
    bot: Bot, fake: FakeTelegram
) -> None:
    query_id = await _delivered_query(bot, fake)
    fake.age_callback_queries(15.5)
    with pytest.raises(TelegramBadRequest, match="query is too old and response timeout expired"):
        await bot.answer_callback_query(query_id, text="late")
    assert fake.callback_answers == []


async def test_a_callback_query_is_answered_once(bot: Bot, fake: FakeTelegram) -> None:
    query_id = await _delivered_query(bot, fake)
    fake.age_callback_queries(14)  # still in time
    await bot.answer_callback_query(query_id, text="ok")
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await bot.answer_callback_query(query_id, text="again")
    assert [a.text for a in fake.callback_answers] == ["ok"]


async def test_get_updates_is_refused_while_a_webhook_is_set(bot: Bot, fake: FakeTelegram) -> None:
    await bot.set_webhook(
        "https://habar.example/hook", secret_token="s3cr-et_", max_connections=500
    )
    info = await bot.get_webhook_info()
    assert (info.url, info.max_connections) == ("https://habar.example/hook", 100)
    with pytest.raises(TelegramConflictError, match="can't use getUpdates method while webhook"):
        await bot.get_updates()
    await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == "" and await bot.get_updates() == []


async def test_set_webhook_ends_a_long_poll_in_flight(bot: Bot, fake: FakeTelegram) -> None:
    poller = make_bot(fake)
    try:
        polling = asyncio.create_task(poller.get_updates(timeout=30))
        await fake.wait_until(lambda: fake.pollers == 1)
        await bot.set_webhook("https://habar.example/hook")
        with pytest.raises(TelegramConflictError, match="terminated by setWebhook request"):
            await polling
    finally:
        await poller.session.close()


@pytest.mark.parametrize(
    ("url", "secret", "reason"),
    [
        ("http://habar.example/hook", None, "An HTTPS URL must be provided for webhook"),
        ("https://habar.example:8080/hook", None, "only on ports 80, 88, 443 or 8443"),
        ("https://habar.example/hook", "a+b=", "secret token contains unallowed characters"),
        ("https://habar.example/hook", "x" * 257, "secret token contains unallowed characters"),
    ],
)
async def test_set_webhook_validates_like_telegram(
    bot: Bot, fake: FakeTelegram, url: str, secret: str | None, reason: str
) -> None:
    with pytest.raises(TelegramBadRequest, match=reason):
        await bot.set_webhook(url, secret_token=secret)
    assert fake.webhook["url"] == ""


async def test_one_message_per_second_to_a_private_chat(bot: Bot, fake: FakeTelegram) -> None:
    fake.register_chat(USER)
    fake.register_chat(USER + 1)
    sent = await bot.send_message(USER, "first")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(USER, "second")
    assert caught.value.retry_after == 1
    with pytest.raises(TelegramRetryAfter):  # an edit counts as a message
        await bot.edit_message_text("edited", chat_id=USER, message_id=sent.message_id)
    await bot.send_message(USER + 1, "another chat is not held back")
    assert [m.text for m in fake.sent] == ["first", "another chat is not held back"]


async def test_twenty_messages_a_minute_to_a_group(bot: Bot, fake: FakeTelegram) -> None:
    fake.register_chat(GROUP, "supergroup")
    for i in range(20):
        await bot.send_message(GROUP, f"m{i}")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(GROUP, "m20")
    assert 55 <= caught.value.retry_after <= 60
    assert len(fake.sent_to(GROUP)) == 20


async def test_thirty_messages_a_second_per_bot(bot: Bot, fake: FakeTelegram) -> None:
    for chat in range(1, 32):
        fake.register_chat(chat)
    for chat in range(1, 31):
        await bot.send_message(chat, "digest")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(31, "digest")
    assert caught.value.retry_after == 1 and fake.stats.accepted == 30


def test_limits_go_off_only_with_a_reason() -> None:
    fake = FakeTelegram()
    with pytest.raises(ValueError, match="say why"):
        fake.unlimited(reason=" ")
    assert fake.limits.bot is not None


async def test_a_dropped_connection_is_a_network_error(bot: Bot, fake: FakeTelegram) -> None:
    fake.drop_next("getMe")
    with pytest.raises(TelegramNetworkError):
        await bot.get_me()
    assert (await bot.get_me()).username == "habar_test_bot"


async def test_an_answer_that_never_comes_is_a_network_error(bot: Bot, fake: FakeTelegram) -> None:
    fake.register_chat(USER)
    fake.hang_next("sendMessage")
    with pytest.raises(TelegramNetworkError, match="timeout"):
        await bot.send_message(USER, "lost", request_timeout=1)
    assert fake.sent == []


@pytest.mark.parametrize(
    ("markup", "count"),
    [
        ("<b>x</b>", 1),
        ('<b>x <a href="https://kaz.kz">y</a> z</b>', 4),  # bold cut in 3 around the link
        ("<b>a <code>c</code> b</b>", 4),
        ("<i>x</i> @habar_news #жаңалық $KZT /digest https://kaz.kz", 6),
        ('<a href="https://kaz.kz">@habar_news #tag</a>', 1),  # nothing found inside a link
    ],
)
async def test_entities_are_counted_as_telegram_stores_them(
    bot: Bot, fake: FakeTelegram, markup: str, count: int
) -> None:
    fake.register_chat(USER + count)
    await bot.send_message(USER + count, markup, parse_mode="HTML")
    assert len(fake.sent[0].entities) == count


async def test_detected_entities_count_toward_the_hundred(bot: Bot, fake: FakeTelegram) -> None:
    fake.register_chat(USER)
    html = " ".join(f'<a href="https://kaz.kz/{i}">{i}</a> #t{i}' for i in range(60))
    await bot.send_message(USER, html, parse_mode="HTML")
    [msg] = fake.sent
    assert len(msg.entities) == 100 and msg.entities_dropped == 20


@pytest.mark.parametrize(
    ("markup", "reason"),
    [
        ('<a href="https://a.kz">x <a href="https://b.kz">y</a></a>', 'Nested tag "a" inside "a"'),
        ("<pre>x <b>y</b></pre>", 'Tag "b" inside "pre"'),
        ("<code>x <i>y</i></code>", 'Tag "i" inside "code"'),
    ],
)
async def test_tags_nested_where_telegram_forbids_are_refused(
    bot: Bot, fake: FakeTelegram, markup: str, reason: str
) -> None:
    fake.register_chat(USER)
    with pytest.raises(TelegramBadRequest, match="can't parse entities") as caught:
        await bot.send_message(USER, markup, parse_mode="HTML")
    assert reason in caught.value.message


async def test_code_with_a_language_inside_pre_is_one_entity(bot: Bot, fake: FakeTelegram) -> None:
    fake.register_chat(USER)
    html = '<pre><code class="language-python">print(1)</code></pre>'
    await bot.send_message(USER, html, parse_mode="HTML")
    assert [e["type"] for e in fake.sent[0].entities] == ["pre"]


@pytest.mark.parametrize(
    ("token", "status", "description"),
    [("TOKEN", 404, "Not Found"), ("123:wrong-secret", 401, "Unauthorized")],
)
async def test_a_token_no_bot_can_have_is_not_found_and_a_wrong_one_unauthorized(
    fake: FakeTelegram, token: str, status: int, description: str
) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{fake.url}/bot{token}/getMe") as r:
        body = await r.json()
    assert (r.status, body) == (
        status,
        {"ok": False, "error_code": status, "description": description},
    )

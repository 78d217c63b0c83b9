"""First contact: /start in the user's language, the command menus, /help, /stop, migration."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.e2e.conftest import ADMIN, USER, Chat, Habar
from tests.support.fake_telegram import FakeTelegram

SUBSCRIBER_COMMANDS = [
    "start",
    "lang",
    "topics",
    "keywords",
    "sources",
    "schedule",
    "digest",
    "settings",
    "stop",
    "chats",
    "help",
]
ADMIN_COMMANDS = ["addfeed", "delfeed", "feeds", "stats", "import", "export"]


async def test_start_replies_in_each_users_telegram_language(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    expected = {
        "ru": "Я присылаю дайджесты новостей",
        "kk": "жаңалықтардың дайджестін жіберемін",
        "en": "I send digests of news",
    }
    for chat_id, (code, phrase) in enumerate(expected.items(), start=3001):
        reply = await Chat(fake_tg, chat_id, language_code=code).ask("/start")
        assert phrase in reply.text, (code, reply.text)
        lines = reply.text.splitlines()
        assert len(lines) == 2
        assert all(cmd in lines[1] for cmd in ("/lang", "/topics", "/schedule"))


async def test_start_subscribes_with_all_languages_topics_daily_at_nine(
    start_habar: Callable[..., Awaitable[Habar]], fake_tg: FakeTelegram, db_url: str
) -> None:
    await start_habar(database_url=db_url)
    chat = Chat(fake_tg, USER, language_code="en")
    welcome = await chat.ask("/start")
    assert "daily at 09:00, Astana time (UTC+5)" in welcome.text
    settings = await chat.ask("/settings")
    assert "Languages: all languages" in settings.text
    assert "Topics: all topics" in settings.text
    assert "Schedule: daily at 09:00\n" in settings.text
    assert "Time zone: Astana time (UTC+5)" in settings.text
    assert "Deliveries: on" in settings.text


async def test_kazakh_settings_name_the_zone_once_as_astana_time_and_languages_in_kazakh(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    chat = Chat(fake_tg, 3011, language_code="kk")
    welcome = await chat.ask("/start")
    assert "күн сайын сағат 09:00, Астана уақыты (UTC+5)" in welcome.text
    assert "Қазір:" not in welcome.text
    await chat.ask("/lang en kk")
    settings = (await chat.ask("/settings")).text
    assert settings.count("Астана уақыты (UTC+5)") == 1
    assert "Уақыт белдеуі: Астана уақыты (UTC+5)" in settings
    assert "Asia/" not in settings
    assert "Тілдер: қазақ, ағылшын" in settings
    assert "English" not in settings and "Қазақша" not in settings


async def test_russian_settings_name_the_zone_as_astana_time(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    chat = Chat(fake_tg, 3012, language_code="ru")
    await chat.ask("/start")
    settings = (await chat.ask("/settings")).text
    assert settings.count("время Астаны (UTC+5)") == 1
    assert "Часовой пояс: время Астаны (UTC+5)" in settings
    assert "Asia/" not in settings


async def test_unserved_telegram_language_falls_back_to_russian(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    reply = await Chat(fake_tg, 3101, language_code="de").ask("/start")
    assert "Я присылаю дайджесты новостей" in reply.text


async def test_command_menus_are_registered_in_ru_kk_en_and_for_the_admin(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    descriptions = {}
    for code in ("ru", "kk", "en", ""):
        listed = fake_tg.commands_for(None, code)
        assert [c for c, _ in listed] == SUBSCRIBER_COMMANDS, code
        descriptions[code] = dict(listed)
        admin_scope = {"type": "chat", "chat_id": ADMIN}
        assert [c for c, _ in fake_tg.commands_for(admin_scope, code)] == (
            SUBSCRIBER_COMMANDS + ADMIN_COMMANDS
        )
    assert descriptions["ru"]["topics"] == "Темы"
    assert descriptions["kk"]["topics"] == "Тақырыптар"
    assert descriptions["en"]["topics"] == "Topics"
    assert descriptions[""] == descriptions["en"]
    assert fake_tg.commands_for({"type": "chat", "chat_id": USER}, "ru") == []


async def test_help_lists_commands_and_only_admins_see_admin_commands(
    habar: Habar, user: Chat, admin: Chat
) -> None:
    mine = await user.ask("/help")
    assert all(f"/{c}" in mine.text for c in SUBSCRIBER_COMMANDS)
    assert not any(f"/{c}" in mine.text for c in ADMIN_COMMANDS)
    theirs = await admin.ask("/help")
    assert all(f"/{c}" in theirs.text for c in SUBSCRIBER_COMMANDS + ADMIN_COMMANDS)
    assert "Admin commands:" in theirs.text


async def test_stop_pauses_and_start_welcomes_back_with_kept_settings(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    await habar.app.res.subs.start(3201, "kk")
    await habar.app.res.subs.set_languages(3201, "kk")
    chat = Chat(fake_tg, 3201, language_code="kk")
    paused = await chat.ask("/stop")
    assert paused.text.startswith("Жіберу уақытша тоқтатылды")
    assert paused.text.endswith("Қайта қосу үшін: /start")
    status = "Жіберу: уақытша тоқтатылған (қайта қосу үшін: /start)"
    assert status in (await chat.ask("/settings")).text
    back = await chat.ask("/start")
    assert back.text.startswith("Қош келдіңіз! Дайджестер қайтадан жіберіледі. Баптауларыңыз:")
    assert "Тілдер: қазақ" in back.text


async def test_commands_before_start_ask_the_user_to_start(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    commands = ("/stop", "/settings", "/lang", "/lang kk", "/topics", "/schedule", "/digest")
    for chat_id, command in enumerate(commands, start=3301):  # one chat each: no pacing
        reply = await Chat(fake_tg, chat_id, language_code="en").ask(command)
        assert reply.text == "You are not subscribed yet: send /start.", command


async def test_group_upgraded_to_supergroup_keeps_its_subscription(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    group = Chat(fake_tg, -4001, user_id=USER, language_code="en", chat_type="group")
    fake_tg.set_member(-4001, USER, "creator")
    await group.ask("/start")
    await group.ask("/schedule hourly")
    await habar.handled(lambda: fake_tg.migrate(-4001, -1004001, user_id=USER), updates=2)
    supergroup = Chat(fake_tg, -1004001, user_id=USER, language_code="en", chat_type="supergroup")
    reply = await supergroup.ask("/settings")
    assert "Schedule: hourly" in reply.text

"""/lang /topics /schedule /settings /digest: arguments, keyboards edited in place, bad input."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tests.e2e.conftest import USER, Chat, Habar, buttons, marked
from tests.support.fake_telegram import FakeTelegram

ALL_LANGS = {"lg:ru", "lg:kk", "lg:en", "lg:all"}


async def _started(
    habar: Habar, fake: FakeTelegram, chat_id: int, language_code: str = "en", langs: str = ""
) -> Chat:
    """A subscribed chat, set up through the service (/start itself is test_onboarding's)."""
    await habar.app.res.subs.start(chat_id, language_code)
    if langs:
        await habar.app.res.subs.set_languages(chat_id, langs)
    return Chat(fake, chat_id, language_code=language_code)


async def test_lang_with_codes_chooses_those_languages(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    chat = await _started(habar, fake_tg, 5001)
    reply = await chat.ask("/lang kk, ru")
    assert reply.text == "Languages: Kazakh, Russian"
    assert "Languages: Kazakh, Russian" in (await chat.ask("/settings")).text
    other = await _started(habar, fake_tg, 5101, langs="kk")
    assert (await other.ask("/lang all")).text == "Languages: all languages"


async def test_lang_with_unknown_code_lists_valid_codes_and_changes_nothing(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    chat = await _started(habar, fake_tg, 5002, langs="kk")
    reply = await chat.ask("/lang xx ru")
    assert "xx" in reply.text
    assert "Kazakh (kk), Russian (ru), English (en), all languages (all)" in reply.text
    assert "Nothing was changed" in reply.text
    assert "Languages: Kazakh" in (await chat.ask("/settings")).text


async def test_lang_with_4kb_of_junk_gets_a_short_reply_and_changes_nothing(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    chat = await _started(habar, fake_tg, 5010, langs="kk")
    junk = " ".join(f"junk{n:04d}" + "z" * 40 for n in range(85))  # ~4,000 characters
    reply = await chat.ask(f"/lang {junk}")
    assert len(reply.text) < 300
    assert "Kazakh (kk), Russian (ru), English (en), all languages (all)" in reply.text
    assert "junk0000" in reply.text and "+82" in reply.text  # three quoted, the rest counted
    assert "junk0003" not in reply.text
    assert "Nothing was changed" in reply.text
    assert "Languages: Kazakh" in (await chat.ask("/settings")).text


async def test_schedule_with_a_4kb_word_gets_a_short_reply_and_changes_nothing(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    chat = await _started(habar, fake_tg, 5011)
    await chat.ask("/schedule hourly")
    reply = await chat.ask("/schedule daily 1" + "9" * 4000)
    assert len(reply.text) < 300
    assert "instant | hourly | daily HH:MM" in reply.text
    assert "Schedule: hourly" in (await chat.ask("/settings")).text


async def test_topics_with_unknown_slug_lists_valid_slugs_and_changes_nothing(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    taxonomy = habar.app.res.taxonomy
    chat = await _started(habar, fake_tg, 5003)
    first = taxonomy.slugs[0]
    await chat.ask(f"/topics {first}")  # not the default, so a reset would show
    reply = await chat.ask("/topics nosuch")
    assert "nosuch" in reply.text
    assert all(slug in reply.text for slug in taxonomy.slugs)
    assert f"Topics: {taxonomy.name(first, 'en')}\n" in (await chat.ask("/settings")).text


async def test_kazakh_error_for_an_unknown_topic_names_topics_in_kazakh_with_their_slugs(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    taxonomy = habar.app.res.taxonomy
    chat = await _started(habar, fake_tg, 5013, language_code="kk")
    reply = await chat.ask("/topics nosuch")
    assert reply.text.startswith("Белгісіз тақырып: nosuch. Жарамды мәндер: ")
    assert all(f"{taxonomy.name(s, 'kk')} ({s})" in reply.text for s in taxonomy.slugs)
    assert "Денсаулық (health)" in reply.text
    assert "барлық тақырыптар (all)" in reply.text
    assert reply.text.endswith("Ешқандай өзгеріс енгізілмеді.")


@pytest.mark.parametrize(
    ("code", "usage", "nothing"),
    [
        ("kk", "daily СС:ММ [СС:ММ ...]", "Ешқандай өзгеріс енгізілмеді."),
        ("ru", "daily ЧЧ:ММ [ЧЧ:ММ ...]", "Ничего не изменено."),
    ],
)
async def test_schedule_errors_write_the_time_pattern_in_the_users_language(
    habar: Habar, fake_tg: FakeTelegram, code: str, usage: str, nothing: str
) -> None:
    chat = await _started(habar, fake_tg, 5014 if code == "kk" else 5015, language_code=code)
    for bad in ("/schedule daily 25:99", "/schedule weekly"):
        reply = await chat.ask(bad)
        assert f"instant | hourly | {usage}" in reply.text
        assert "HH:MM" not in reply.text
        assert reply.text.endswith(nothing)


async def test_topics_with_slugs_chooses_them_by_name_in_the_users_language(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    taxonomy = habar.app.res.taxonomy
    first, second = taxonomy.slugs[:2]
    chat = await _started(habar, fake_tg, 5004, language_code="kk")
    reply = await chat.ask(f"/topics {first} {second}")
    names = ", ".join(taxonomy.name(s, "kk") for s in (first, second))
    assert reply.text == f"Тақырыптар: {names}"


async def test_schedule_with_valid_arguments_sets_it(habar: Habar, fake_tg: FakeTelegram) -> None:
    chat = await _started(habar, fake_tg, 5005)
    reply = await chat.ask("/schedule daily 18:30 7:05")
    assert reply.text == "Schedule: daily at 07:05, 18:30, Astana time (UTC+5)"
    assert "Schedule: daily at 07:05, 18:30" in (await chat.ask("/settings")).text
    instant = await _started(habar, fake_tg, 5105)
    assert (await instant.ask("/schedule instant")).text == "Schedule: instantly, as news arrives"
    hourly = await _started(habar, fake_tg, 5205)
    assert (await hourly.ask("/schedule hourly")).text == "Schedule: hourly"


async def test_schedule_with_impossible_time_names_the_format_and_changes_nothing(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    chat = await _started(habar, fake_tg, 5006)
    await chat.ask("/schedule daily 18:30")  # not the default, so a reset would show
    reply = await chat.ask("/schedule daily 25:99")
    assert "25:99" in reply.text
    assert "instant | hourly | daily HH:MM" in reply.text
    assert "Schedule: daily at 18:30\n" in (await chat.ask("/settings")).text


async def test_lang_keyboard_taps_edit_the_same_message_in_place(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    chat = await _started(habar, fake_tg, 5007)
    menu = await chat.ask("/lang")
    assert set(buttons(menu)) == ALL_LANGS
    assert marked(menu) == ALL_LANGS
    answer = await chat.tap(menu, "lg:kk")
    assert answer.text == "Languages: Russian, English"
    assert marked(chat.now(menu)) == {"lg:ru", "lg:en"}
    await chat.tap(chat.now(menu), "lg:all")
    assert marked(chat.now(menu)) == ALL_LANGS
    again = await chat.tap(chat.now(menu), "lg:all")  # nothing to redraw: no error either
    assert again.text == "Languages: all languages"
    assert len(chat.sent()) == 1  # the keyboard: taps sent nothing new
    assert [e for e in fake_tg.errors if e[0].lower().startswith("edit")] == []


async def test_untoggling_the_last_language_is_refused_and_changes_nothing(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    chat = await _started(habar, fake_tg, 5008, langs="en")
    menu = await chat.ask("/lang")
    answer = await chat.tap(menu, "lg:en")
    assert answer.show_alert
    assert answer.text == "At least one must stay chosen."
    assert marked(chat.now(menu)) == {"lg:en"}
    assert "Languages: English" in (await chat.ask("/settings")).text


async def test_topics_keyboard_names_topics_in_the_users_language_and_toggles(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    taxonomy = habar.app.res.taxonomy
    chat = await _started(habar, fake_tg, 5009, language_code="ru")
    menu = await chat.ask("/topics")
    shown = buttons(menu)
    first = taxonomy.slugs[0]
    assert shown[f"tp:{first}"] == "✅ " + taxonomy.name(first, "ru")
    assert len(shown) == len(taxonomy.slugs) + 1
    rows = menu.reply_markup["inline_keyboard"]
    assert [b["callback_data"] for b in rows[-1]] == ["tp:all"]  # "all" has its own row
    assert all(len(row) <= 2 for row in rows)
    await chat.tap(menu, f"tp:{first}")
    assert marked(chat.now(menu)) == {f"tp:{s}" for s in taxonomy.slugs[1:]}
    assert taxonomy.name(first, "ru") not in (await chat.ask("/settings")).text


async def test_schedule_with_an_unknown_kind_names_the_format(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    chat = await _started(habar, fake_tg, 5106)
    reply = await chat.ask("/schedule weekly")
    assert reply.text.startswith("I did not understand the schedule.")
    assert "instant | hourly | daily HH:MM" in reply.text


async def test_schedule_keyboard_tap_moves_the_mark(habar: Habar, fake_tg: FakeTelegram) -> None:
    chat = await _started(habar, fake_tg, 5010)
    menu = await chat.ask("/schedule")
    assert marked(menu) == {"sc|daily 09:00"}
    answer = await chat.tap(menu, "sc|daily 09:00 18:00")
    assert answer.text == "Schedule: daily at 09:00, 18:00, Astana time (UTC+5)"
    assert marked(chat.now(menu)) == {"sc|daily 09:00 18:00"}


async def test_settings_language_buttons_switch_the_interface_language(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    chat = await _started(habar, fake_tg, 5011, language_code="ru")
    shown = await chat.ask("/settings")
    assert shown.text.startswith("Ваши настройки")
    assert marked(shown) == {"ui:ru"}
    answer = await chat.tap(shown, "ui:kk")
    assert answer.text == "Интерфейс тілі: қазақ"
    now = chat.now(shown)
    assert now.text.startswith("Баптауларыңыз")
    assert marked(now) == {"ui:kk"}
    assert (await chat.ask("/help")).text.startswith("Командалар:")  # Telegram still says ru
    await chat.tap(now, "ui:en")
    assert (await chat.ask("/lang xx")).text.startswith("Unknown language: xx")


async def test_settings_shortcut_sends_the_topics_keyboard(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    chat = await _started(habar, fake_tg, 5012)
    shown = await chat.ask("/settings")
    before = len(chat.sent())
    await chat.tap(shown, "mn:topics")
    [menu] = await fake_tg.wait_sent(chat_id=chat.chat_id, after=before)
    assert menu.text == "Choose topics:"
    assert "tp:all" in buttons(menu)


async def test_digest_with_nothing_pending_says_so(
    start_habar: Callable[..., Awaitable[Habar]], fake_tg: FakeTelegram, db_url: str
) -> None:
    habar = await start_habar(database_url=db_url)
    chat = await _started(habar, fake_tg, USER, language_code="kk")
    reply = await chat.ask("/digest")
    assert reply.text == "Соңғы дайджесттен бері сүзгілеріңізге сай жаңалықтар жоқ."


async def test_unexpected_failure_is_logged_and_the_user_told_nothing_changed(
    habar: Habar,
    fake_tg: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(chat_id: int, args: str) -> None:
        raise RuntimeError("disk on fire")

    chat = await _started(habar, fake_tg, 5301, langs="en")
    monkeypatch.setattr(habar.app.res.subs, "set_languages", broken)  # a fault, not a fake DB
    reply = await chat.ask("/lang kk")
    assert reply.text == "Something went wrong; nothing was changed. Try later."
    assert "Languages: English" in (await chat.ask("/settings")).text
    assert "disk on fire" in caplog.text

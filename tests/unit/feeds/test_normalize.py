"""clean_text and repair_lookalikes on titles and summaries as kk/ru/en feeds send them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.normalize import Boilerplate, clean_text, repair_lookalikes

HTML_CASES = [
    pytest.param(
        "<p>Глава государства провёл встречу с&nbsp;акимами, передаёт <em>Tengrinews.kz</em>."
        "</p>\n<p><strong>Читайте также:</strong> "
        '<a href="https://tengrinews.kz/kazakhstan_news/x/">Аким Алматы ушёл в отставку</a></p>',
        "Глава государства провёл встречу с акимами, передаёт Tengrinews.kz.",
        id="tengrinews-read-also-paragraph",
    ),
    pytest.param(
        "<p>Елордада жастар форумы өтті.</p>\n<p>The post "
        '<a rel="nofollow" href="https://qamshy.kz/article/1">Елордада жастар форумы өтті</a> '
        'appeared first on <a rel="nofollow" href="https://qamshy.kz">Qamshy.kz</a>.</p>',
        "Елордада жастар форумы өтті.",
        id="wordpress-post-appeared-first-on",
    ),
    pytest.param(
        "<p>В Алматы открыли новую станцию метро&#8230;</p>\n<p>Сообщение "
        '<a href="https://example.kz/metro/">Новая станция метро</a> появились сначала на '
        '<a href="https://example.kz">Example.kz</a>.</p>',
        "В Алматы открыли новую станцию метро…",
        id="wordpress-ru-yoast-footer",
    ),
    pytest.param(
        "Министр энергетики заявил, что цены на газ в 2025 году не изменятся [&hellip;]",
        "Министр энергетики заявил, что цены на газ в 2025 году не изменятся",
        id="wordpress-excerpt-ellipsis",
    ),
    pytest.param(
        "&lt;p&gt;&lt;img src=&quot;/upload/iblock/1.jpg&quot; /&gt;Аким области "
        "&amp;laquo;поручил&amp;raquo; завершить ремонт&lt;/p&gt;",
        "Аким области «поручил» завершить ремонт",
        id="bitrix-double-encoded-html",
    ),
    pytest.param(
        "<![CDATA[<p>Қазақстанда&nbsp;жаңа оқу жылы басталды.</p>]]>",
        "Қазақстанда жаңа оқу жылы басталды.",
        id="cdata-leftovers",
    ),
    pytest.param(
        "<p>Жиында тұрғындар мәселесі талқыланды.</p><p>Оқи отырыңыз: "
        '<a href="https://egemen.kz/article/2">Әкім халықпен кездесті</a></p>',
        "Жиында тұрғындар мәселесі талқыланды.",
        id="egemen-read-along",
    ),
    pytest.param(
        "Ауа райы болжамы жарияланды. Толығырақ: https://kaz.zakon.kz/6015850-x.html",
        "Ауа райы болжамы жарияланды.",
        id="kazakh-read-more-link",
    ),
    pytest.param(
        "<p>Жол апатынан үш адам зардап шекті.</p><p>Telegram-арнамызға жазылыңыз!</p>",
        "Жол апатынан үш адам зардап шекті.",
        id="kazakh-telegram-call",
    ),
    pytest.param(
        "В Шымкенте подорожал хлеб.<br><br>Подписывайтесь на наш Telegram-канал, "
        "чтобы первыми узнавать новости!",
        "В Шымкенте подорожал хлеб.",
        id="russian-telegram-call-after-br",
    ),
    pytest.param(
        "<p>Новость дня.</p><p>Комментарии (3)</p><p>Оставить комментарий</p>"
        "<p>Ваш адрес email не будет опубликован. Обязательные поля помечены *</p>",
        "Новость дня.",
        id="wordpress-comment-form",
    ),
    pytest.param(
        "<p>Markets rallied on Friday.</p><p>Share this:</p><p>Twitter Facebook</p>",
        "Markets rallied on Friday.",
        id="jetpack-share-bar",
    ),
    pytest.param(
        "Полиция ищет свидетелей ДТП на трассе Алматы – Бишкек. Подробнее в сюжете.",
        "Полиция ищет свидетелей ДТП на трассе Алматы – Бишкек.",
        id="24kz-more-in-the-story",
    ),
    pytest.param(
        "<p>Central bank keeps the base rate. <a href='/x'>Read more &raquo;</a></p>",
        "Central bank keeps the base rate.",
        id="english-read-more",
    ),
    pytest.param(
        "<script>var a = '<p>';</script><style>p { color: red }</style>"
        "<!-- banner -->Заголовок<!-- unterminated comment",
        "Заголовок",
        id="script-style-comments",
    ),
    pytest.param(
        "Строка первая<br/>строка вторая</p><p>третья<li>четвёртая",
        "Строка первая строка вторая третья четвёртая",
        id="breaks-become-spaces",
    ),
    pytest.param(
        'Подробности по <a href="https://24.kz/x">ссылке</a>. Казах<b>стан</b>',
        "Подробности по ссылке. Казахстан",
        id="inline-tags-leave-no-space",
    ),
    pytest.param(
        "Цены на бензин &amp;quot;Аи-92&amp;quot; выросли, AT&amp;T и R&D &#1178;азақстан",
        'Цены на бензин "Аи-92" выросли, AT&T и R&D Қазақстан',
        id="entities-numeric-and-double-encoded",
    ),
    pytest.param(
        "  Қазақ\u00adстан\u200bда\u00a0\u00a0жаңа\tзаң\r\n\u2028қабылданды\ufeff  ",
        "Қазақстанда жаңа заң қабылданды",
        id="invisible-and-odd-whitespace",
    ),
    pytest.param(
        '<a title="a > b" href="/x">Ссылка</a> с атрибутом, 5 < 7 и <3',
        "Ссылка с атрибутом, 5 < 7 и <3",
        id="gt-in-attribute-and-bare-less-than",
    ),
    pytest.param(
        "Үкiметтiң отырысында xалық игілігі талқыланды",
        "Үкіметтің отырысында халық игілігі талқыланды",
        id="kazakh-with-latin-i-and-x",
    ),
]


@pytest.mark.parametrize(("raw", "expected"), HTML_CASES)
def test_clean_text_turns_feed_html_into_plain_text(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected
    assert clean_text(expected) == expected


NEWS_THAT_LOOKS_LIKE_BOILERPLATE = [
    "Комментарии экспертов по новому Налоговому кодексу",
    "Источник в правительстве сообщил о скорой отставке министра",
    "Жители поделились видео с места пожара",
    "Он написал в своём Telegram-канале, что проект заморожен.",
    "Министр арнамызға берген сұхбатында жоба туралы толығырақ айтып берді.",
    "Students read more books than a decade ago",
    "The post of prime minister remains vacant. Applications appeared first on Monday.",
    "«Подпишитесь под петицией», — призвал депутат.",
    "Читатели спрашивают: что будет с ценами на бензин?",
    "Photo essay: Astana in the snow",
    "Он сказал: «Мы [...] будем работать дальше». Министр добавил, что сроки сдвинутся.",
    "Подробнее о мерах поддержки рассказал министр.",
]


@pytest.mark.parametrize("text", NEWS_THAT_LOOKS_LIKE_BOILERPLATE)
def test_clean_text_keeps_news_that_merely_mentions_boilerplate_words(text: str) -> None:
    assert clean_text(text) == text


LOOKALIKE_CASES = [
    ("xалық", "халық"),
    ("Пpoфсоюз", "Профсоюз"),
    ("Aлматы Kазахстан", "Алматы Казахстан"),
    ("БАСПАСӨЗIНIҢ ҮНI", "БАСПАСӨЗІНІҢ ҮНІ"),
    ("ТOO «Самрук» и AО", "ТОО «Самрук» и АО"),
    ("Cоmpany news", "Company news"),
    ("ѕoft launch", "soft launch"),
    ("передал c 1 января, c ним", "передал с 1 января, с ним"),
    ("Qazaqstan Respýblıkasy saılaý ótkizdi", "Qazaqstan Respýblıkasy saılaý ótkizdi"),
    ("COVID-19, iPhone 15 и 5G", "COVID-19, iPhone 15 и 5G"),
    ("iPhoneды сатып алды", "iPhoneды сатып алды"),
    (
        "https://tengrinеws.kz/Пpo #Пpoфсоюз @Пpoфком",
        "https://tengrinеws.kz/Пpo #Пpoфсоюз @Пpoфком",
    ),
    ("Plan A и c", "Plan A и c"),
]


@pytest.mark.parametrize(("text", "expected"), LOOKALIKE_CASES)
def test_repair_lookalikes_fixes_mixed_words_and_leaves_pure_ones(
    text: str, expected: str
) -> None:
    assert repair_lookalikes(text) == expected


def test_clean_text_repairs_lookalikes_so_boilerplate_with_latin_letters_is_still_found() -> None:
    assert clean_text("Текст новости. Читaйте тaкже: другое") == "Текст новости."


def test_boilerplate_phrase_added_to_rules_file_is_dropped_without_code(tmp_path: Path) -> None:
    rules = tmp_path / "rules.txt"
    rules.write_text("# site-specific\nЖаңалықтар лентасы\nblock: Жарнама\n", encoding="utf-8")
    custom = Boilerplate.load(rules)
    raw = "<p>Мәтін.</p><p>Жарнама</p><p>Жаңалықтар лентасы: басқа</p>"
    assert clean_text(raw, custom) == "Мәтін."
    assert clean_text(raw) == "Мәтін. Жарнама Жаңалықтар лентасы: басқа"


def test_boilerplate_rule_that_is_not_a_regex_is_reported_with_its_line() -> None:
    with pytest.raises(ValueError, match="line 2"):
        Boilerplate.parse("# ok\nЧитайте (также\n")


def test_clean_text_gives_up_on_endless_nesting_without_leaving_markup() -> None:
    raw = "<" * 40 + "b>" * 40 + "Текст " + "&amp;" * 40 + "lt;"
    out = clean_text(raw)
    assert "<" not in out and ">" not in out
    assert clean_text(out) == out


# --- properties --------------------------------------------------------------------------------

FRAGMENTS = [
    "<p>", "</p>", "<br>", "<b>", "</b>", "<a href='x>y'>", "</a>", "<!--", "-->", "<script>",
    "</script>", "<![CDATA[", "]]>", "&amp;", "&lt;", "&gt;", "&quot;", "&#38;", "&#x41;",
    "&nbsp;", "&shy;", "&", "<", ">", "amp;", "lt;", "Читайте также:", "Read more", "Толығырақ",
    "[…]", "The post", "appeared first on", "Комментарии", "Facebook", "Twitter", "c", "o", "x",
    "p", "C", "Пpoфсоюз", "xалық", "Cоmpany", " ", "\n", "\t", "\u00a0", "\u200b", "\u00ad", ".",
    "»", ":", "Ж", "қ", "y\u0306", "https://x.kz/Пp", "#тег", "İ", "\u212a", "\ud800",
]  # fmt: skip
feedish_text = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=4), max_size=25).map("".join)
TAG = re.compile(r"<[A-Za-z/!?][^<>]*>")


@settings(max_examples=400)
@given(feedish_text)
def test_clean_text_output_is_one_clean_line_and_cleaning_it_again_changes_nothing(
    raw: str,
) -> None:
    out = clean_text(raw)
    assert clean_text(out) == out
    assert TAG.search(out) is None
    assert "  " not in out
    assert out == out.strip()
    assert all(ch == " " or not ch.isspace() for ch in out)
    out.encode("utf-8")  # no lone surrogates: the database and Telegram need valid UTF-8


@given(st.text())
def test_clean_text_never_raises_and_is_idempotent_on_any_string(raw: str) -> None:
    out = clean_text(raw)
    assert clean_text(out) == out


@given(st.text())
def test_repair_lookalikes_is_idempotent(text: str) -> None:
    once = repair_lookalikes(text)
    assert repair_lookalikes(once) == once
    assert len(once) == len(text)

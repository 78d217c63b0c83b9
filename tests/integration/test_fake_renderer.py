"""The production digest renderer and the fake Telegram agree on what Telegram accepts."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiogram import Bot

from bot.services.render import DigestItem, DigestText, render_digest
from bot.services.telegram_text import telegram_measure
from tests.support.fake_telegram import FakeTelegram
from tests.support.tg_html import utf16_len

TEXT = DigestText(header="Дайджест · 5 наурыз", other_heading="Басқа", continued="(жалғасы)")
HOSTILE = [
    "1 < 2 & 3 > 2",
    "<b>not a tag</b> &amp; &lt;",
    "Писал @habar_news и @kaz_tv_channel",
    "#жаңалық #news #2024 $KZT $USD",
    "Сайт kaz.kz и https://inform.kz/ru/a?x=1&y=2 и mail@kaz.kz",
    "/start /digest@habar_bot",
    "Эмодзи 😀🇰🇿 и 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "x" * 500,
    "Қ" * 300 + " @" + "a" * 40,
    "   пробелы   \n\n и переносы  ",
]


def _items(rng: random.Random, n: int) -> list[DigestItem]:
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        title = " ".join(rng.choice(HOSTILE) for _ in range(rng.randint(1, 3)))
        source = rng.choice(["Vlast #1", "@kaz_news", "inform.kz", "A & B <c>"])
        url = rng.choice(["", f"https://kaz.kz/news/{i}?a=1&b=<2>", f"http://x.kz/{i}"])
        topics = tuple(rng.sample(["politics", "economy", "sport"], rng.randint(0, 2)))
        out.append(DigestItem(i, url, title, source, now - timedelta(minutes=i), topics))
    return out


def _parts(seed: int) -> list[str]:
    rng = random.Random(seed)
    return render_digest(
        _items(rng, rng.choice([3, 40, 150])),
        topic_order=("politics", "economy", "sport"),
        chosen_topics=None,
        topic_name=str.title,
        tz=ZoneInfo("Asia/Almaty"),
        text=TEXT,
        now=datetime.now(UTC),
    )


@pytest.mark.parametrize("seed", range(8))
async def test_every_rendered_part_is_accepted_whole(
    bot: Bot, fake: FakeTelegram, seed: int
) -> None:
    for chat, part in enumerate(_parts(seed), start=1):  # a chat per part: pacing is not tested
        fake.register_chat(chat)
        await bot.send_message(chat, part, parse_mode="HTML")
        [msg] = fake.sent_to(chat)
        assert utf16_len(msg.text) <= 4096
        assert msg.entities_dropped == 0, (seed, chat)


@pytest.mark.parametrize("seed", range(8))
async def test_the_renderer_counts_entities_as_telegram_stores_them(
    bot: Bot, fake: FakeTelegram, seed: int
) -> None:
    for chat, part in enumerate(_parts(seed), start=1):
        fake.register_chat(chat)
        await bot.send_message(chat, part, parse_mode="HTML")
        [msg] = fake.sent_to(chat)
        assert telegram_measure(part)[1] == len(msg.entities), (seed, chat, part[:200])


async def test_titles_full_of_hashtags_keep_every_link(bot: Bot, fake: FakeTelegram) -> None:
    now = datetime.now(UTC)
    tags = [" ".join(f"#t{i}x{j}" for j in range(8)) for i in range(80)]
    items = [
        DigestItem(i, "" if i % 2 else f"https://kaz.kz/{i}", tags[i], "@kaz_news", now, ())
        for i in range(80)
    ]
    parts = render_digest(
        items,
        topic_order=(),
        chosen_topics=None,
        topic_name=str,
        tz=ZoneInfo("Asia/Almaty"),
        text=TEXT,
        now=now,
    )
    for chat, part in enumerate(parts, start=1):
        fake.register_chat(chat)
        await bot.send_message(chat, part, parse_mode="HTML")
    assert [m.entities_dropped for m in fake.sent] == [0] * len(parts)
    assert sum(len(m.links) for m in fake.sent) == 40

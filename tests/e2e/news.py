"""News for the digest tests: real-looking headlines, feed items, and what a chat received."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.fake_telegram import Msg

NOTHING_EN = "No news for your filters since the last digest."
NOTHING_RU = "С прошлого дайджеста новостей по вашим фильтрам нет."
NOTHING_KK = "Соңғы дайджесттен бері сүзгілеріңізге сай жаңалықтар жоқ."

# Checked with `python -m bot classify` (title and summary alike): each lands in its topic.
_CITIES = (
    "Караганды",
    "Темиртау",
    "Жезказгана",
    "Экибастуза",
    "Актобе",
    "Атырау",
    "Жанаозена",
    "Костаная",
    "Павлодара",
    "Усть-Каменогорска",
    "Шымкента",
    "Кызылорды",
)
_STRIKES = (
    "Шахтёры {c} требуют повысить заработную плату на треть и улучшить условия труда "
    "под землёй, профсоюз готовит переговоры с руководством компании",
    "Рабочие предприятия в окрестностях {c} объявили забастовку из-за задержки зарплаты "
    "за три месяца и требуют встречи с собственником и акиматом",
    "Профсоюз железнодорожников {c} добивается индексации зарплат и отмены сверхурочных "
    "смен, переговоры с работодателем продолжатся на следующей неделе",
    "Нефтяники из {c} вышли на акцию протеста с требованием пересмотреть коллективный "
    "договор и вернуть надбавки за вредные условия труда",
    "Трудовая инспекция проверила жалобы рабочих {c} на невыплату заработной платы, "
    "профсоюз требует наказать руководство подрядчика",
)


def strike_headline(n: int) -> str:
    """The n-th of many distinct long Russian headlines about strikes (topic: unions)."""
    return _STRIKES[n % len(_STRIKES)].format(c=_CITIES[n % len(_CITIES)]) + f" (сводка №{n})"


def entry(
    url: str, title: str, *, age: timedelta = timedelta(hours=1), guid: str | None = None
) -> dict[str, Any]:
    """An RSS item published `age` ago; its title doubles as its description."""
    return {
        "title": title,
        "link": url,
        "guid": guid,
        "description": title,
        "pubDate": datetime.now(UTC) - age,
    }


def strikes(count: int, prefix: str = "https://example.kz/strike") -> list[dict[str, Any]]:
    """`count` strike items, newest first, one minute apart."""
    return [
        entry(f"{prefix}/{n}", strike_headline(n), age=timedelta(minutes=10 + n))
        for n in range(count)
    ]


def links(messages: list[Msg]) -> list[str]:
    """The item URLs of the digests among `messages`, in the order they arrived."""
    return [url for m in messages for url in m.links]


def digests(messages: list[Msg]) -> list[Msg]:
    """The messages that carry news links (digest parts), not the bot's replies."""
    return [m for m in messages if m.links]


def repeated(urls: list[str]) -> list[str]:
    """URLs that occur more than once."""
    return [url for url, n in Counter(urls).items() if n > 1]

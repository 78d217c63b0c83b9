"""Keyword alerts in planning, on SQLite and PostgreSQL: what reaches a place, and its limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services.errors import InputError
from bot.services.subscriptions import Subscriptions
from bot.storage.alerts import alert_clause
from bot.storage.feeds import FeedRepo
from bot.storage.items import FeedSuccess, ItemRepo
from bot.storage.outbox import OutboxRepo, Plan, Snapshot, pending_items_query
from bot.storage.sources import MutedRepo
from bot.storage.subscribers import Place, SubscriberRepo
from feeds.keywords import Selection
from feeds.models import Lang
from tests.integration.test_outbox import BACKFILL, NOW, news, store, subscriber


class Seen:
    """A planner that remembers each digest's titles and keyword marks."""

    def __init__(self) -> None:
        self.titles: list[str] = []
        self.marks: dict[str, tuple[str, ...]] = {}

    def __call__(self, snap: Snapshot) -> Plan:
        self.titles += [r.title for r in snap.items]
        self.marks.update({r.title: snap.marks[r.id] for r in snap.items if r.id in snap.marks})
        return Plan([r.title for r in snap.items], None)


def service(engine: AsyncEngine) -> Subscriptions:
    return Subscriptions(
        SubscriberRepo(engine),
        topic_slugs=("unions", "economy"),
        default_tz="Asia/Almaty",
        backfill=BACKFILL,
        clock=lambda: NOW,
    )


async def plan(engine: AsyncEngine, chat_id: int, limit: int | None = None) -> Seen:
    seen = Seen()
    await OutboxRepo(engine).plan_snapshot(chat_id, seen, NOW, limit=limit)
    return seen


async def stored_news(engine: AsyncEngine) -> None:
    await store(
        engine,
        news("a", "Экономика растёт", topics=frozenset({"economy"})),
        news("b", "Шахтёры объявили забастовку"),
        news("c", "Реклама: забастовка цен в магазине", topics=frozenset({"economy"})),
        news("d", "Жұмысшылар ереуілге шықты", lang=Lang.KK),
        news("e", "Погода на выходные"),
        news("f", "Минимальную зарплату повысят"),
    )


async def test_keywords_add_to_the_topics_and_exclusions_take_away(engine: AsyncEngine) -> None:
    subs = service(engine)
    await SubscriberRepo(engine).create(subscriber(1, topics=frozenset({"economy"})), NOW)
    await subs.change_keywords(1, 'add забастовка "минимальная зарплата" -реклама')
    await stored_news(engine)

    seen = await plan(engine, 1)

    assert seen.titles == [
        "Экономика растёт",
        "Шахтёры объявили забастовку",
        "Минимальную зарплату повысят",
    ]
    assert seen.marks == {
        "Шахтёры объявили забастовку": ("забастовку",),
        "Минимальную зарплату повысят": ("Минимальную", "зарплату"),
    }


async def test_topics_none_leaves_only_keyword_matches_in_the_chosen_languages(
    engine: AsyncEngine,
) -> None:
    subs = service(engine)
    await SubscriberRepo(engine).create(subscriber(2, langs=frozenset({"kk"})), NOW)
    await subs.set_topics(2, "none")
    await subs.change_keywords(2, "add ереуіл забастовка")
    await stored_news(engine)
    await store(engine, news("g", "Ауа райы болжамы", lang=Lang.KK))  # Kazakh, no keyword

    assert (await plan(engine, 2)).titles == ["Жұмысшылар ереуілге шықты"]


async def test_keyword_alerts_skip_the_sources_a_place_muted(engine: AsyncEngine) -> None:
    subs = service(engine)
    await SubscriberRepo(engine).create(subscriber(8), NOW)
    await subs.set_topics(8, "none")
    await subs.change_keywords(8, "add забастовка")
    await stored_news(engine)  # from Tengrinews
    feeds = FeedRepo(engine)
    other = await feeds.add(
        url="https://ads.example/rss", title="Ads", site_url=None, lang_hint="ru", now=NOW
    )
    success = FeedSuccess(None, None, None, NOW, NOW + timedelta(minutes=5))
    strike_ad = news("ad", "Забастовка скидок: всё по 100")
    await ItemRepo(engine).store_poll(
        other.id, [strike_ad], success, source="Ads", backfill=BACKFILL
    )
    await MutedRepo(engine).toggle(Place(8), other.id)

    assert (await plan(engine, 8)).titles == [
        "Шахтёры объявили забастовку",
        "Реклама: забастовка цен в магазине",
    ]


async def test_a_place_without_keywords_is_planned_as_before(engine: AsyncEngine) -> None:
    await SubscriberRepo(engine).create(subscriber(3, topics=frozenset({"economy"})), NOW)
    await stored_news(engine)

    assert (await plan(engine, 3)).titles == [
        "Экономика растёт",
        "Реклама: забастовка цен в магазине",
    ]


async def test_a_digest_cut_at_its_limit_leaves_the_rest_pending(engine: AsyncEngine) -> None:
    subs = service(engine)
    await SubscriberRepo(engine).create(subscriber(4, topics=frozenset()), NOW)
    await subs.change_keywords(4, "add забастовка зарплата ереуіл")
    await stored_news(engine)

    assert (await plan(engine, 4, limit=2)).titles == [
        "Шахтёры объявили забастовку",
        "Реклама: забастовка цен в магазине",
    ]
    assert (await plan(engine, 4, limit=2)).titles == [
        "Жұмысшылар ереуілге шықты",
        "Минимальную зарплату повысят",
    ]


async def test_keywords_are_added_removed_and_cleared(engine: AsyncEngine) -> None:
    subs = service(engine)
    await SubscriberRepo(engine).create(subscriber(5), NOW)

    sub = await subs.change_keywords(5, 'add профсоюз "минимальная зарплата" ереуіл -реклама')
    assert sub.keywords == ("профсоюз", '"минимальная зарплата"', "ереуіл", "-реклама")
    sub = await subs.change_keywords(5, "remove ереуіл -реклама")
    assert sub.keywords == ("профсоюз", '"минимальная зарплата"')
    sub = await subs.change_keywords(5, "clear")
    assert sub.keywords == ()
    stored = await SubscriberRepo(engine).get(5)
    assert stored is not None and stored.keywords == ()


@pytest.mark.parametrize(
    ("args", "key"),
    [
        ('add "минимальная зарплата', "bad_keywords"),
        ("add " + "ж" * 101, "bad_keywords"),
        ("add", "bad_keywords"),
        ("forget профсоюз", "bad_keywords"),
        ("remove забастовка", "no_such_keyword"),
        ("add " + " ".join(f"слово{i}" for i in range(50)), "too_many_keywords"),
    ],
)
async def test_bad_keyword_input_changes_nothing(engine: AsyncEngine, args: str, key: str) -> None:
    subs = service(engine)
    await SubscriberRepo(engine).create(subscriber(6), NOW)
    await subs.change_keywords(6, "add профсоюз")

    with pytest.raises(InputError) as caught:
        await subs.change_keywords(6, args)

    assert caught.value.key == key
    stored = await SubscriberRepo(engine).get(6)
    assert stored is not None and stored.keywords == ("профсоюз",)


async def test_fifty_keywords_fit(engine: AsyncEngine) -> None:
    subs = service(engine)
    await SubscriberRepo(engine).create(subscriber(7), NOW)
    words = [f"слово{i}" for i in range(50)]
    sub = await subs.change_keywords(7, "add " + " ".join(words))
    assert sub.keywords == tuple(words)


async def test_any_number_of_matched_ids_fits_in_the_query(engine: AsyncEngine) -> None:
    # PostgreSQL (asyncpg) takes at most 32,767 bound parameters in one statement.
    await stored_news(engine)
    found = Selection(frozenset(range(2, 40_002)), frozenset(range(40_002, 80_000)))
    query = pending_items_query(0, 100, None, None).where(
        alert_clause(frozenset(), found, 0, 100_000)
    )
    async with engine.connect() as conn:
        ids = [row.id for row in await conn.execute(query)]
    assert ids == [2, 3, 4, 5, 6]

"""Retention end to end: old news goes, and news a reader has yet to get still reaches them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update

from bot.storage.tables import items
from tests.e2e.conftest import Chat, Habar
from tests.e2e.gated_telegram import GatedTelegram
from tests.e2e.news import entry
from tests.support.feed_server import FeedServer, rss

KK = entry("https://kaz.kz/1", "Астанада жаңа мектеп ашылды, оқушылар қыркүйекте сабаққа барады")
RU = entry("https://ru.kz/1", "В Караганде открыли новую школу, ученики придут в сентябре")
EN = entry("https://en.kz/1", "Kazakhstan raises the minimum wage from the first of January")
FRESH = entry("https://en.kz/2", "Astana airport opens a second runway for international flights")


async def reader(habar: Habar, fake: GatedTelegram, chat_id: int, langs: str) -> Chat:
    """A subscriber whose next scheduled digest is half a day away: only /digest sends now."""
    subs = habar.app.res.subs
    await subs.start(chat_id, "en")
    await subs.set_languages(chat_id, langs)
    later = datetime.now(ZoneInfo("Asia/Almaty")) + timedelta(hours=12)
    await subs.set_schedule(chat_id, f"daily {later:%H:%M}")
    return Chat(fake, chat_id, language_code="en")


async def test_old_items_go_and_those_a_reader_has_yet_to_get_stay(
    start_habar: Callable[..., Awaitable[Habar]],
    fake_tg: GatedTelegram,
    feed_server: FeedServer,
    db_url: str,
) -> None:
    habar = await start_habar(database_url=db_url)
    res = habar.app.res
    everything = await reader(habar, fake_tg, 7701, "all")
    kazakh = await reader(habar, fake_tg, 7702, "kk")
    url = feed_server.add("/news.xml", rss([KK, RU, EN]))
    await res.feed_admin.add(url)
    assert sorted((await everything.ask("/digest")).links) == sorted(
        i["link"] for i in (KK, RU, EN)
    )
    # A hundred days pass; then the feed brings one more item.
    async with res.engine.begin() as conn:
        await conn.execute(
            update(items).values(first_seen_at=datetime.now(UTC) - timedelta(days=100))
        )
    feed_server.add("/news.xml", rss([FRESH, KK, RU, EN]))
    assert await habar.poll() == 1

    deleted = await habar.app.clock.retention_tick()

    assert deleted == 2
    assert {r.url for r in await res.items.latest(10)} == {KK["link"], FRESH["link"]}
    assert (await kazakh.ask("/digest")).links == [KK["link"]]
    assert (await everything.ask("/digest")).links == [FRESH["link"]]

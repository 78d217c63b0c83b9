"""Admin commands: /addfeed with each refusal we can cause locally, /delfeed, /feeds, /stats."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from tests.e2e.conftest import Chat, Habar
from tests.support.fake_telegram import FakeTelegram
from tests.support.feed_server import FeedServer, rss

TITLES = (
    "Астанада жаңа мектеп ашылды",
    "В Алматы открыли новую станцию метро",
    "Kazakhstan wheat exports reach a record",
)


def _news_feed(server: FeedServer, path: str = "/news.xml") -> str:
    now = datetime.now(UTC)
    items = [
        {
            "title": title,
            "link": f"https://example.kz/news/{i}",
            "guid": f"news-{i}",
            "description": title,
            "pubDate": now - timedelta(minutes=10 * (i + 1)),
        }
        for i, title in enumerate(TITLES)
    ]
    return server.add(path, rss(items, title="Habar test news"))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_addfeed_replies_with_id_title_and_item_count(
    start_habar: Callable[..., Awaitable[Habar]],
    fake_tg: FakeTelegram,
    feed_server: FeedServer,
    db_url: str,
) -> None:
    await start_habar(database_url=db_url)
    admin = Chat(fake_tg, 1001, language_code="en")
    url = _news_feed(feed_server)
    reply = await admin.ask(f"/addfeed {url} kk", timeout=30)
    assert reply.text.splitlines() == [
        "✅ Feed #1 added: Habar test news",
        url,
        f"{len(TITLES)} items stored",
    ]
    assert reply.link_preview_disabled
    listed = await admin.ask("/feeds")
    assert "#1 Habar test news" in listed.text
    assert f"Items: {len(TITLES)}; last success: " in listed.text
    assert "last success: —" not in listed.text


async def test_non_admin_is_refused_and_nothing_changes(
    habar: Habar, fake_tg: FakeTelegram, admin: Chat, feed_server: FeedServer
) -> None:
    url = _news_feed(feed_server)
    commands = (f"/addfeed {url}", "/delfeed 1", "/feeds", "/stats")
    for chat_id, command in enumerate(commands, start=6001):  # one chat each: no pacing
        reply = await Chat(fake_tg, chat_id, language_code="ru").ask(command)
        assert reply.text == "Эта команда только для администраторов. Ничего не изменено."
    assert feed_server.hits["/news.xml"] == 0
    assert (await admin.ask("/feeds")).text.startswith("No feeds yet.")


async def test_addfeed_refuses_what_is_not_an_http_url(habar: Habar, admin: Chat) -> None:
    reply = await admin.ask("/addfeed ftp://example.kz/rss.xml")
    assert reply.text.startswith("❌ This is not an http(s) URL.")
    usage = await admin.ask("/addfeed")
    assert usage.text == "Usage: /addfeed URL [ru|kk|en]"


async def test_addfeed_refuses_an_unknown_language_hint(
    habar: Habar, admin: Chat, feed_server: FeedServer
) -> None:
    reply = await admin.ask(f"/addfeed {_news_feed(feed_server)} de")
    assert reply.text.startswith("❌ The language must be one of: ru, kk, en.")
    assert feed_server.hits["/news.xml"] == 0


async def test_addfeed_refuses_a_port_nobody_listens_on(habar: Habar, admin: Chat) -> None:
    reply = await admin.ask(f"/addfeed http://127.0.0.1:{_closed_port()}/rss.xml", timeout=30)
    assert reply.text.startswith("❌ The server refused the connection.")
    assert (await admin.ask("/feeds")).text.startswith("No feeds yet.")


async def test_addfeed_refuses_an_html_page(
    habar: Habar, admin: Chat, feed_server: FeedServer
) -> None:
    url = feed_server.add_file("/page.html", "page.html", content_type="text/html; charset=utf-8")
    reply = await admin.ask(f"/addfeed {url}", timeout=30)
    assert reply.text.startswith("❌ This is not an RSS or Atom feed.")
    assert (await admin.ask("/feeds")).text.startswith("No feeds yet.")


async def test_addfeed_refuses_a_feed_already_added(
    habar: Habar, admin: Chat, feed_server: FeedServer
) -> None:
    url = _news_feed(feed_server)
    await habar.app.res.feed_admin.add(url)
    again = await admin.ask(f"/addfeed {url}", timeout=30)
    assert again.text.splitlines() == ["❌ This feed is already added.", url]


async def test_addfeed_refuses_a_private_address_when_private_feeds_are_off(
    start_habar: Callable[..., Awaitable[Habar]], admin: Chat, feed_server: FeedServer
) -> None:
    await start_habar(allow_private_feeds=False)
    reply = await admin.ask(f"/addfeed {_news_feed(feed_server)}", timeout=30)
    assert reply.text.startswith("❌ The host is on a private network address")
    assert feed_server.hits["/news.xml"] == 0


async def test_delfeed_removes_by_id_or_url_and_names_unknown_ones(
    habar: Habar, admin: Chat, feed_server: FeedServer
) -> None:
    await habar.app.res.feed_admin.add(_news_feed(feed_server, "/one.xml"))
    second = _news_feed(feed_server, "/two.xml")
    await habar.app.res.feed_admin.add(second)
    by_id = await admin.ask("/delfeed 1")
    assert by_id.text == "Feed #1 removed: Habar test news. Its items stay."
    by_url = await admin.ask(f"/delfeed {second}")
    assert by_url.text.startswith("Feed #2 removed")
    unknown = await admin.ask("/delfeed 1")
    assert unknown.text == "❌ There is no such feed.\n1"
    assert (await admin.ask("/feeds")).text.startswith("No feeds yet.")


async def test_long_feed_lists_are_split_under_telegrams_limit(
    habar: Habar, admin: Chat, fake_tg: FakeTelegram
) -> None:
    now = datetime.now(UTC)
    ids: dict[int, int] = {}
    for n in range(30):
        feed = await habar.app.res.feeds.add(
            url=f"http://127.0.0.1:9/feed/{n}.xml",
            title=f"Лента <{n}> & " + "очень длинное название " * 20,
            site_url=None,
            lang_hint=None,
            now=now,
        )
        ids[feed.id] = n
    before = admin.say("/feeds")

    def listed() -> list[str]:
        return [m.text for m in admin.sent()[before:]]

    await fake_tg.wait_until(lambda: all(f"#{i} " in "".join(listed()) for i in ids))
    parts = listed()
    assert len(parts) > 1
    assert parts[0].startswith("Feeds: 30. Times are in Astana time (UTC+5)")
    joined = "\n".join(parts)
    assert all(joined.count(f"#{i} Лента <{n}> &") == 1 for i, n in ids.items())


async def test_stats_counts_subscribers_feeds_items_and_sent_messages(
    habar: Habar, admin: Chat, user: Chat, feed_server: FeedServer
) -> None:
    await user.ask("/start")
    await user.ask("/stop")
    await admin.ask("/start")
    await admin.ask(f"/addfeed {_news_feed(feed_server)}", timeout=30)
    reply = await admin.ask("/stats")
    assert reply.text.splitlines() == [
        "Subscribers: 1 active, 1 inactive",
        "Feeds: 1, failing: 0",
        f"Items: {len(TITLES)}",
        "Messages sent in 24 hours: 0",
        "Sent again after a network timeout, since start: 0",
    ]

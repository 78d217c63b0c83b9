"""What an admin sees of a failing feed, and the usage lines of the feed commands."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tests.e2e.conftest import Chat, Habar
from tests.support.feed_server import FeedServer, rss


async def test_feeds_shows_a_failing_feeds_last_error_and_its_failures_in_a_row(
    habar: Habar, admin: Chat, feed_server: FeedServer
) -> None:
    url = feed_server.add("/gone.xml", rss([], title="Gone News"))
    assert (await admin.ask(f"/addfeed {url}", timeout=30)).text.startswith("✅ Feed #1 added")
    feed_server.add("/gone.xml", b"not found", status=404)
    await habar.poll()
    await habar.poll()

    listed = await admin.ask("/feeds")
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d"
    _head, _blank, name, link, items, error = listed.text.split("\n")
    assert (name, link) == ("#1 Gone News", url)
    assert re.fullmatch(rf"Items: 0; last success: {stamp}", items)
    assert re.fullmatch(
        rf"Last error: The server answered with an error status\. \({stamp}\); "
        r"failures in a row: 2",
        error,
    )
    assert listed.link_preview_disabled


async def test_a_feed_without_a_title_is_listed_with_a_dash(
    habar: Habar, admin: Chat, feed_server: FeedServer
) -> None:
    url = feed_server.add("/untitled.xml", rss([]))
    now = datetime.now(UTC)
    await habar.app.res.feeds.add(url=url, title="", site_url=None, lang_hint=None, now=now)
    listed = await admin.ask("/feeds")
    assert "#1 —" in listed.text.split("\n")


async def test_feed_commands_with_wrong_arguments_answer_with_their_usage(
    habar: Habar, admin: Chat
) -> None:
    assert (await admin.ask("/delfeed")).text == "Usage: /delfeed ID or /delfeed URL"
    three = await admin.ask("/addfeed https://example.kz/rss.xml kk extra")
    assert three.text == "Usage: /addfeed URL [ru|kk|en]"


async def test_delfeed_names_the_removed_feed_without_a_link_preview(
    habar: Habar, admin: Chat, feed_server: FeedServer
) -> None:
    url = feed_server.add("/news.xml", rss([], title="Short Lived"))
    await admin.ask(f"/addfeed {url}", timeout=30)
    removed = await admin.ask("/delfeed 1")
    assert removed.text.startswith("Feed #1 removed: Short Lived")
    assert removed.link_preview_disabled


async def test_addfeed_counts_one_item_in_the_singular(
    habar: Habar, admin: Chat, feed_server: FeedServer
) -> None:
    url = feed_server.add(
        "/one.xml",
        rss([{"title": "Alone", "link": "https://one.kz/1", "description": "x"}], title="One"),
    )
    reply = await admin.ask(f"/addfeed {url}", timeout=30)
    assert reply.text.splitlines()[-1] == "1 item stored"

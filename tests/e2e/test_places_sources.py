"""/sources: a muted feed's items never reach the place; unmuting brings only new ones."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.storage.feeds import FeedRow
from tests.e2e.conftest import Chat, Habar
from tests.e2e.news import entry, links
from tests.e2e.places import REFUSAL_EN, Member
from tests.support.fake_telegram import FakeTelegram, Msg
from tests.support.feed_server import FeedServer, rss

ME = 3301
A1, A2 = "https://a.example.kz/1", "https://a.example.kz/2"
B1, B2 = "https://b.example.kz/1", "https://b.example.kz/2"


def feed_a(*urls: str) -> bytes:
    return rss(
        [entry(u, f"Шахтёры Караганды требуют повысить зарплату {u[-1]}") for u in urls],
        title="Alpha",
    )


def feed_b(*urls: str) -> bytes:
    return rss(
        [entry(u, f"Учителя требуют отменить членство в профсоюзах {u[-1]}") for u in urls],
        title="Beta",
    )


def labels(msg: Msg) -> dict[str, str]:
    """Button text by callback data."""
    return {data: text for text, data in msg.buttons() if data}


async def digest(me: Chat, fake: FakeTelegram) -> list[str]:
    """/digest, and the links of the digest it brings."""
    before = len(me.sent())
    me.say("/digest")
    await fake.wait_until(lambda: any(m.links for m in me.sent()[before:]))
    return links(me.sent()[before:])


async def two_feeds_and_me(
    habar: Habar, fake_tg: FakeTelegram, feed_server: FeedServer
) -> tuple[FeedRow, FeedRow, Chat]:
    """Feeds Alpha and Beta, and a subscribed private chat."""
    admin = habar.app.res.feed_admin
    alpha = (await admin.add(feed_server.add("/a.xml", feed_a(A1)))).feed
    beta = (await admin.add(feed_server.add("/b.xml", feed_b(B1)))).feed
    me = Chat(fake_tg, ME, language_code="en")
    await me.ask("/start")
    return alpha, beta, me


async def test_a_muted_feed_never_arrives_and_unmuting_brings_only_new_items(
    habar: Habar, fake_tg: FakeTelegram, feed_server: FeedServer
) -> None:
    alpha, beta, me = await two_feeds_and_me(habar, fake_tg, feed_server)

    menu = await me.ask("/sources")
    assert labels(menu) == {f"so:{alpha.id}:0": "✅ Alpha", f"so:{beta.id}:0": "✅ Beta"}
    tap = await me.tap(menu, f"so:{beta.id}:0")
    assert tap.text == "Muted."
    assert labels(me.now(menu))[f"so:{beta.id}:0"] == "🔇 Beta"
    assert await digest(me, fake_tg) == [A1]

    feed_server.add("/a.xml", feed_a(A1, A2))
    feed_server.add("/b.xml", feed_b(B1, B2))
    await habar.poll()
    await me.tap(me.now(menu), f"so:{beta.id}:0")  # unmuted: B1 was skipped for good
    assert sorted(await digest(me, fake_tg)) == [A2, B2]


async def test_sources_all_unmutes_and_a_deleted_feed_leaves_every_list(
    habar: Habar, fake_tg: FakeTelegram, feed_server: FeedServer
) -> None:
    alpha, beta, me = await two_feeds_and_me(habar, fake_tg, feed_server)
    menu = await me.ask("/sources")
    await me.tap(menu, f"so:{alpha.id}:0")
    await me.tap(me.now(menu), f"so:{beta.id}:0")

    assert (await me.ask("/sources all")).text == "All sources are on again."
    assert set(labels(await me.ask("/sources")).values()) == {"✅ Alpha", "✅ Beta"}
    await habar.app.res.feed_admin.remove(str(alpha.id))
    assert set(labels(await me.ask("/sources")).values()) == {"✅ Beta"}
    assert (await me.ask("/sources nonsense")).text.startswith("Valid values")


async def test_more_than_twenty_feeds_are_paged(habar: Habar, fake_tg: FakeTelegram) -> None:
    now = datetime.now(UTC)
    for n in range(25):
        await habar.app.res.feeds.add(
            url=f"https://feed{n:02}.example.kz/rss",
            title=f"Feed {n:02}",
            site_url=None,
            lang_hint=None,
            now=now,
        )
    me = Chat(fake_tg, ME, language_code="en")
    await me.ask("/start")
    menu = await me.ask("/sources")
    feeds = [t for t in labels(menu).values() if t.startswith("✅")]
    assert len(feeds) == 20 and "▶" in labels(menu).values()
    [forward] = [d for d, t in labels(menu).items() if t == "▶"]
    await me.tap(menu, forward)
    page2 = labels(me.now(menu))
    assert [t for t in page2.values() if t.startswith("✅")] == [
        f"✅ Feed {n}" for n in range(20, 25)
    ]
    assert "2/2" in page2.values()


async def test_a_group_member_may_not_mute_a_source(
    habar: Habar, fake_tg: FakeTelegram, feed_server: FeedServer
) -> None:
    feed = (await habar.app.res.feed_admin.add(feed_server.add("/a.xml", feed_a(A1)))).feed
    group = -1007777777777
    fake_tg.set_member(group, ME, "administrator")
    owner, member = Member(fake_tg, group, ME), Member(fake_tg, group, 3302)
    await owner.ask("/start")
    assert (await member.ask("/sources")).text == REFUSAL_EN
    menu = await owner.ask("/sources")
    tap = await member.tap(menu, f"so:{feed.id}:0")
    assert tap.show_alert and tap.text == REFUSAL_EN
    assert labels(fake_tg.current(group, menu.message_id))[f"so:{feed.id}:0"] == "✅ Alpha"

"""Channels: connected when the bot is made an administrator, configured from a private chat
through /chats; a chat that removes the bot stops, and resumes when it is added back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.services.places import Place
from tests.e2e.conftest import Chat, Habar
from tests.e2e.news import entry, links
from tests.e2e.places import REFUSAL_EN, Member
from tests.support.fake_telegram import ApiError, FakeTelegram
from tests.support.feed_server import FeedServer, rss

CHANNEL = -1005555555555
GROUP = -1006666666666
EDITOR, STRANGER = 3201, 3202
KK = "https://kaz.example.kz/1"
RU = "https://ru.example.kz/4"
NEWS = [
    entry(KK, "Маңғыстауда жұмысшылар наразылық білдірді"),
    entry(RU, "Забастовка в ЗКО: на улицы вышло около 700 рабочих"),
]


async def connect(habar: Habar, fake: FakeTelegram, by: int = EDITOR) -> None:
    """The editor makes the bot an administrator of the union's channel."""
    fake.set_member(CHANNEL, by, "creator")
    await habar.handled(
        lambda: fake.my_chat_member(CHANNEL, "channel", "administrator", by=by, title="Union"),
        1,
    )


async def choose_channel(editor: Chat) -> None:
    """/chats in the editor's private chat, then a tap on the channel."""
    menu = await editor.ask("/chats")
    assert f"ch:{CHANNEL}:0" in [data for _text, data in menu.buttons()]
    tap = await editor.tap(menu, f"ch:{CHANNEL}:0")
    assert "Union" in tap.text


async def test_a_channel_is_connected_and_its_editor_is_told_privately(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    fake_tg.register_chat(EDITOR)  # the editor has written to the bot before
    await connect(habar, fake_tg)

    [told] = await fake_tg.wait_sent(chat_id=EDITOR)
    assert "Union" in told.text and "/chats" in told.text
    sub = await habar.app.res.subs.get(Place(CHANNEL))
    assert sub is not None and sub.kind == "channel" and sub.status == "active"
    assert sub.added_by == EDITOR  # who connected it is kept


async def test_a_channel_configured_through_chats_gets_its_own_digest(
    habar: Habar, fake_tg: FakeTelegram, feed_server: FeedServer
) -> None:
    await habar.app.res.feed_admin.add(feed_server.add("/news.xml", rss(NEWS)))
    editor = Chat(fake_tg, EDITOR, language_code="en")
    await editor.ask("/help")
    await connect(habar, fake_tg)
    await fake_tg.wait_sent(chat_id=EDITOR, after=1)
    await choose_channel(editor)

    reply = await editor.ask("/lang kk")
    assert reply.text.startswith("📍 Configuring: Union\n")
    assert (await habar.app.res.subs.get(Place(CHANNEL))).langs == frozenset({"kk"})
    assert await habar.app.res.subs.get(Place(EDITOR)) is None  # their own chat untouched

    refused = await editor.ask("/lang xx")  # an error reply names the place too
    assert refused.text.startswith("📍 Configuring: Union\n")
    assert "Unknown language" in refused.text
    assert (await habar.app.res.subs.get(Place(CHANNEL))).langs == frozenset({"kk"})

    editor.say("/digest")
    await fake_tg.wait_until(lambda: links(fake_tg.sent_to(CHANNEL)) != [])
    assert links(fake_tg.sent_to(CHANNEL)) == [KK]
    assert links(editor.sent()) == []

    menu = await editor.ask("/chats")
    await editor.tap(menu, "ch:0:0")  # "This chat"
    welcome = await editor.ask("/start")
    assert not welcome.text.startswith("📍")
    assert await habar.app.res.subs.get(Place(EDITOR)) is not None


async def test_an_editor_no_longer_admin_is_refused(habar: Habar, fake_tg: FakeTelegram) -> None:
    editor = Chat(fake_tg, EDITOR, language_code="en")
    await editor.ask("/help")
    await connect(habar, fake_tg)
    await choose_channel(editor)
    fake_tg.set_member(CHANNEL, EDITOR, "member")
    habar.app.res.places.rights.forget(CHANNEL, EDITOR)  # as 5 minutes later

    assert (await editor.ask("/lang ru")).text == "📍 Configuring: Union\n" + REFUSAL_EN
    assert (await habar.app.res.subs.get(Place(CHANNEL))).langs is None


async def test_chats_lists_only_what_the_user_administers(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    await connect(habar, fake_tg)  # the editor never wrote: nothing was sent to them
    assert fake_tg.sent_to(EDITOR) == []
    stranger = Chat(fake_tg, STRANGER, language_code="en")
    fake_tg.set_member(CHANNEL, STRANGER, "member")
    menu = await stranger.ask("/chats")
    assert [data for _t, data in menu.buttons()] == ["ch:0:0"]

    editor = Chat(fake_tg, EDITOR, language_code="en")
    menu = await editor.ask("/chats")
    assert [data for _t, data in menu.buttons()] == [f"ch:{CHANNEL}:0", "ch:0:0"]


async def test_removed_then_added_back_resumes_with_the_same_settings(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    fake_tg.set_member(GROUP, EDITOR, "creator")
    owner = Member(fake_tg, GROUP, EDITOR)
    await owner.ask("/start")
    await owner.ask("/lang ru")
    await connect(habar, fake_tg)
    subs = habar.app.res.subs

    for chat_id, kind in ((GROUP, "supergroup"), (CHANNEL, "channel")):
        await habar.handled(
            lambda c=chat_id, k=kind: fake_tg.my_chat_member(
                c, k, "kicked", by=EDITOR, old="administrator"
            ),
            1,
        )
        assert (await subs.get(Place(chat_id))).status == "blocked"
    assert (await subs.get(Place(GROUP))).langs == frozenset({"ru"})

    await habar.handled(
        lambda: fake_tg.my_chat_member(GROUP, "supergroup", "member", by=EDITOR), 1
    )
    await habar.handled(
        lambda: fake_tg.my_chat_member(CHANNEL, "channel", "administrator", by=EDITOR), 1
    )
    for chat_id in (GROUP, CHANNEL):
        assert (await subs.get(Place(chat_id))).status == "active"
    assert (await subs.get(Place(GROUP))).langs == frozenset({"ru"})


async def test_the_place_chosen_in_chats_is_still_chosen_after_a_restart(
    start_habar: Callable[..., Awaitable[Habar]], fake_tg: FakeTelegram
) -> None:
    habar = await start_habar()
    editor = Chat(fake_tg, EDITOR, language_code="en")
    await editor.ask("/help")
    await connect(habar, fake_tg)
    await choose_channel(editor)
    await habar.stop()

    again = await start_habar()
    reply = await editor.ask("/lang kk")
    assert reply.text.startswith("📍 Configuring: Union\n")
    assert (await again.app.res.subs.get(Place(CHANNEL))).langs == frozenset({"kk"})


async def test_a_group_that_answers_403_stops_and_resumes_when_the_bot_is_back(
    habar: Habar, fake_tg: FakeTelegram, feed_server: FeedServer
) -> None:
    await habar.app.res.feed_admin.add(feed_server.add("/news.xml", rss(NEWS[:1])))
    fake_tg.set_member(GROUP, EDITOR, "creator")
    owner = Member(fake_tg, GROUP, EDITOR)
    await owner.ask("/start")
    await owner.ask("/schedule instant")
    # Removed while Habar was not looking (no my_chat_member reached it): sends get 403.
    fake_tg.faults.chats[GROUP] = ApiError(
        403, "Forbidden: bot was kicked from the supergroup chat"
    )
    feed_server.add("/news.xml", rss(NEWS))
    await habar.poll()

    await fake_tg.wait_until(lambda: fake_tg.stats.forbidden == 1)
    await habar.app.sender.drain()
    sub = await habar.app.res.subs.get(Place(GROUP))
    assert sub.status == "blocked" and sub.schedule == "instant"

    await habar.handled(
        lambda: fake_tg.my_chat_member(GROUP, "supergroup", "member", by=EDITOR), 1
    )
    assert (await habar.app.res.subs.get(Place(GROUP))).status == "active"


async def test_a_renamed_group_and_channel_are_listed_under_their_new_titles(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    fake_tg.set_member(GROUP, EDITOR, "creator")
    await Member(fake_tg, GROUP, EDITOR).ask("/start")
    await connect(habar, fake_tg)
    await habar.handled(lambda: fake_tg.rename_chat(GROUP, "Kasipodak members", by=EDITOR), 1)
    await habar.handled(lambda: fake_tg.rename_chat(CHANNEL, "Union news", by=EDITOR), 1)

    editor = Chat(fake_tg, EDITOR, language_code="en")
    menu = await editor.ask("/chats")
    names = [text for text, _data in menu.buttons()]
    assert any("Kasipodak members" in n for n in names), names
    assert any("Union news" in n for n in names), names
    tap = await editor.tap(menu, f"ch:{CHANNEL}:0")
    assert "Union news" in tap.text
    assert fake_tg.sent_to(GROUP)[1:] == [] and fake_tg.sent_to(CHANNEL) == []  # no replies

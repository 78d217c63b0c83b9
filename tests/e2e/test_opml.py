"""OPML in Telegram: an admin imports a file of feeds and exports the list, others are refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from xml.sax.saxutils import quoteattr

from defusedxml.ElementTree import fromstring

from tests.e2e.conftest import ADMIN, Chat, Habar
from tests.support.fake_telegram import FakeTelegram
from tests.support.feed_server import FeedServer, rss

IMPORT_TIMEOUT = 60.0  # each feed is fetched and parsed in a worker process first


def opml(*outlines: str, nested: bool = True) -> bytes:
    """An OPML 2.0 file whose outlines are the given xmlUrl values, in a folder if nested."""
    rows = "".join(f"<outline type='rss' text='x' xmlUrl={quoteattr(u)}/>" for u in outlines)
    body = f"<outline text='Folder'>{rows}</outline>" if nested else rows
    return (
        "<?xml version='1.0' encoding='utf-8'?><opml version='2.0'><head><title>t</title>"
        f"</head><body>{body}</body></opml>"
    ).encode()


async def send_file(
    fake: FakeTelegram, chat: Chat, name: str, data: bytes, replies: int, **kw: object
) -> list[str]:
    """Send a document with the caption /import; the texts of the bot's next `replies`."""
    before = len(chat.sent())
    fake.document(
        chat.chat_id,
        name,
        data,
        caption="/import",
        user_id=chat.user_id,
        language_code=chat.language_code,
        **kw,
    )
    got = await fake.wait_sent(
        chat_id=chat.chat_id, after=before, count=replies, timeout=IMPORT_TIMEOUT
    )
    return [m.text for m in got[:replies]]


async def test_an_admin_imports_a_file_and_gets_a_summary_of_what_was_added(
    habar: Habar, admin: Chat, fake_tg: FakeTelegram, feed_server: FeedServer
) -> None:
    kk = feed_server.add("/kk.xml", rss([], title="Қазақ жаңалықтары"))
    ru = feed_server.add("/ru.xml", rss([], title="Новости"))
    present = feed_server.add("/old.xml", rss([], title="Old"))
    await admin.ask(f"/addfeed {present}", timeout=30)
    page = feed_server.add("/page.html", b"<html><body>hi</body></html>", content_type="text/html")
    gone = feed_server.add("/gone.xml", b"no", status=404)

    # Folders in folders, as feed readers export them: every level is read.
    data = opml(kk, present, page, gone).replace(
        b"</outline></body>",
        f"<outline text='Inner'><outline xmlUrl='{ru}'/></outline></outline></body>".encode(),
    )
    checking, summary = await send_file(fake_tg, admin, "feeds.opml", data, 2)

    assert checking == "Checking 5 feeds…"
    lines = summary.splitlines()
    assert lines[0] == "Import done: 2 added, 1 already present, 2 failed."
    added = lines[lines.index("Added:") + 1 : lines.index("Added:") + 3]
    assert sorted(line.split(" ", 1)[1] for line in added) == ["Новости", "Қазақ жаңалықтары"]
    assert lines[lines.index("Already present:") + 1] == present
    failed = lines[lines.index("Failed:") + 1 :]
    assert f"{page} — This is not an RSS or Atom feed. (an HTML page)" in failed
    assert any(
        line.startswith(f"{gone} — The server answered with an error status.") for line in failed
    )
    stored = {f.url for f in await habar.app.res.feeds.list()}
    assert stored == {kk, ru, present}


async def test_replying_import_to_a_file_imports_it(
    habar: Habar, admin: Chat, fake_tg: FakeTelegram, feed_server: FeedServer
) -> None:
    url = feed_server.add("/a.xml", rss([], title="A"))
    file_id = fake_tg.document(ADMIN, "list.XML", opml(url, nested=False), language_code="en")
    before = len(admin.sent())
    fake_tg.reply(ADMIN, file_id, "/import", language_code="en")
    got = await fake_tg.wait_sent(chat_id=ADMIN, after=before, count=2, timeout=IMPORT_TIMEOUT)
    assert got[1].text.startswith("Import done: 1 added, 0 already present, 0 failed.")
    assert [f.url for f in await habar.app.res.feeds.list()] == [url]


async def test_files_that_are_not_opml_are_refused_and_nothing_is_added(
    habar: Habar, admin: Chat, fake_tg: FakeTelegram, feed_server: FeedServer
) -> None:
    url = feed_server.add("/a.xml", rss([], title="A"))
    good = opml(url)
    cases = [
        (
            "feeds.opml",
            good[: len(good) // 2 + 10],
            "The file is cut off: its XML ends too early.",
        ),
        ("feeds.xml", rss([]), "The file is not OPML."),
        ("feeds.opml", b"\x89PNG\r\n\x1a\n binary", "The file is not XML."),
        ("feeds.opml", opml(nested=True), "The file lists no feeds: no outline has an xmlUrl."),
        (
            "feeds.opml",
            opml(*[f"{url}?n={n}" for n in range(2001)]),
            "The file has more than 2,000 outlines.",
        ),
    ]
    for name, data, reason in cases:
        [reply] = await send_file(fake_tg, admin, name, data, 1)
        assert reply == f"❌ {reason}\nNothing was added.", name
    downloads = fake_tg.stats.calls["getFile"]
    [big] = await send_file(fake_tg, admin, "big.opml", good, 1, size=5 * 1024 * 1024)
    assert big == "❌ The file is larger than 1 MiB.\nNothing was added."
    assert fake_tg.stats.calls["getFile"] == downloads  # refused by its size, not downloaded
    [text_file] = await send_file(fake_tg, admin, "feeds.txt", good, 1)
    assert (
        text_file == "Send an .opml or .xml file with the caption /import, or reply /import to it."
    )
    assert await habar.app.res.feeds.list() == []
    assert feed_server.hits["/a.xml"] == 0


async def test_hostile_files_are_refused_without_fetching_or_expanding_anything(
    habar: Habar, admin: Chat, fake_tg: FakeTelegram, feed_server: FeedServer
) -> None:
    feed = feed_server.add("/a.xml", rss([], title="A"))
    dtd = feed_server.add("/evil.dtd", b'<!ENTITY leak SYSTEM "file:///etc/passwd">')
    laughs = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10))
    hostile = {
        "xxe": f'<!DOCTYPE opml [<!ENTITY x SYSTEM "{feed}">]>'
        "<opml version='2.0'><body><outline text='&x;' xmlUrl='&x;'/></body></opml>",
        "parameter entity": f'<!DOCTYPE opml [<!ENTITY % p SYSTEM "{dtd}"> %p;]>'
        f"<opml version='2.0'><body><outline xmlUrl='{feed}'/></body></opml>",
        "billion laughs": f'<!DOCTYPE opml [<!ENTITY l0 "lol">{laughs}]>'
        f"<opml version='2.0'><body><outline text='&l9;' xmlUrl='{feed}'/></body></opml>",
    }
    for name, text in hostile.items():
        [reply] = await send_file(fake_tg, admin, "feeds.opml", text.encode(), 1)
        assert reply == (
            "❌ The file declares XML entities or external references, which are not "
            "accepted.\nNothing was added."
        ), name
    assert feed_server.hits["/a.xml"] == 0 and feed_server.hits["/evil.dtd"] == 0
    assert await habar.app.res.feeds.list() == []


async def test_export_sends_feeds_opml_that_imports_back_into_a_fresh_bot(
    start_habar: Callable[..., Awaitable[Habar]],
    admin: Chat,
    fake_tg: FakeTelegram,
    feed_server: FeedServer,
    tmp_path: Path,
) -> None:
    first = await start_habar()
    kk = feed_server.add("/kk.xml", rss([], title="Ақпарат", link="https://aqparat.kz/"))
    ru = feed_server.add("/ru.xml", rss([], title="Вести & Co"))
    await admin.ask(f"/addfeed {kk} kk", timeout=30)
    await admin.ask(f"/addfeed {ru}", timeout=30)

    admin.say("/export")
    doc = await fake_tg.wait_document(ADMIN)
    assert (doc.file_name, doc.caption) == ("feeds.opml", "2 feeds")
    root = fromstring(doc.content)
    assert root.get("version") == "2.0"
    outlines = [o.attrib for o in root.iter("outline")]
    assert outlines[0] == {
        "type": "rss",
        "text": "Ақпарат",
        "title": "Ақпарат",
        "xmlUrl": kk,
        "htmlUrl": "https://aqparat.kz/",
        "language": "kk",
    }
    assert (outlines[1]["title"], outlines[1]["xmlUrl"]) == ("Вести & Co", ru)
    assert "language" not in outlines[1]
    await first.stop()

    fresh = await start_habar(database_url=f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    await send_file(fake_tg, admin, "feeds.opml", doc.content, 2)
    feeds = {f.url: (f.title, f.lang_hint) for f in await fresh.app.res.feeds.list()}
    assert feeds == {kk: ("Ақпарат", "kk"), ru: ("Вести & Co", None)}


async def test_import_and_export_are_refused_to_non_admins(
    habar: Habar, user: Chat, fake_tg: FakeTelegram, feed_server: FeedServer
) -> None:
    url = feed_server.add("/a.xml", rss([], title="A"))
    refusal = "Эта команда только для администраторов. Ничего не изменено."
    [reply] = await send_file(fake_tg, user, "feeds.opml", opml(url), 1)
    assert reply == refusal
    assert (await user.ask("/export")).text == refusal
    assert fake_tg.documents == [] and feed_server.hits["/a.xml"] == 0
    assert await habar.app.res.feeds.list() == []


async def test_a_long_list_of_failures_is_cut_after_20_with_a_count(
    habar: Habar, admin: Chat, fake_tg: FakeTelegram, feed_server: FeedServer
) -> None:
    gone = [feed_server.add(f"/gone{n}.xml", b"no", status=404) for n in range(23)]
    _checking, summary = await send_file(fake_tg, admin, "feeds.opml", opml(*gone), 2)
    lines = summary.splitlines()
    assert lines[0] == "Import done: 0 added, 0 already present, 23 failed."
    failed = lines[lines.index("Failed:") + 1 :]
    assert len(failed) == 21 and failed[-1] == "…and 3 more"
    assert all(" — The server answered with an error status." in line for line in failed[:20])
    assert feed_server.hits["/gone22.xml"] == 1  # every feed was checked, only the list is cut

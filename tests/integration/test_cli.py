"""The command line as an operator uses it: real processes, a real SQLite file, feeds on HTTP."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta

from tests.support.feed_server import FeedServer, rss

NOW = datetime.now(UTC)
UNIONS_KK = {
    "title": "Кәсіподақ мүшелері жалақыны көтеруді талап етті",
    "link": "https://kasipodak.example.kz/news/1?utm_source=rss",
    "guid": "https://kasipodak.example.kz/news/1",
    "description": "<p>Қазақстан кәсіподақтар федерациясы жұмысшылардың жалақысы туралы "
    "мәлімдеме жасады.</p>",
    "pubDate": NOW - timedelta(minutes=5),
}
SCHOOL_RU = {
    "title": "В школах Алматы не хватает учителей математики",
    "link": "https://news.example.kz/school",
    "guid": "https://news.example.kz/school",
    "description": "Управление образования объявило набор педагогов в школы города.",
    "pubDate": NOW - timedelta(minutes=10),
}


async def habar(env: dict[str, str], *args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_feed_add_poll_items_and_remove(
    feed_server: FeedServer, env: dict[str, str]
) -> None:
    url = feed_server.add("/kk.xml", rss([UNIONS_KK], title="Kasipodak"))
    code, out, _ = await habar(env, "feed", "add", url, "--lang", "kk")
    assert code == 0
    assert out.strip() == "added #1 Kasipodak (1 items)"

    feed_server.add("/kk.xml", rss([UNIONS_KK, SCHOOL_RU], title="Kasipodak"))
    code, out, _ = await habar(env, "poll", "--once")
    assert (code, out.strip()) == (0, "#1 Kasipodak: 1 new, ok")

    code, out, _ = await habar(env, "items", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [r["url"] for r in rows] == [
        "https://kasipodak.example.kz/news/1",
        "https://news.example.kz/school",
    ]
    assert [(r["lang"], r["topics"]) for r in rows] == [("kk", ["unions"]), ("ru", ["education"])]
    assert set(rows[0]) >= {"id", "url", "title", "lang", "topics", "published", "feed"}
    assert rows[0]["feed"] == "Kasipodak"

    code, out, _ = await habar(env, "feed", "list")
    assert code == 0 and "#1 Kasipodak" in out and "2 items" in out

    code, out, _ = await habar(env, "feed", "remove", "1")
    assert (code, out.strip()) == (0, "removed #1 Kasipodak")
    code, out, _ = await habar(env, "items", "--limit", "1")
    assert code == 0 and "Кәсіподақ" in out  # the items stay


async def test_feed_add_explains_each_refusal_and_stores_nothing(
    feed_server: FeedServer, env: dict[str, str]
) -> None:
    page = feed_server.add("/page", b"<html><body>Hello</body></html>", content_type="text/html")
    good = feed_server.add("/kk.xml", rss([UNIONS_KK]))
    code, _, err = await habar(env, "feed", "add", "ftp://example.kz/feed", page, good, good)
    assert code == 1
    lines = err.strip().splitlines()
    assert "not an http(s) URL" in lines[0]
    assert "not an RSS/Atom feed" in lines[1]
    assert "already added" in lines[2]
    code, out, _ = await habar(env, "feed", "list")
    assert out.count("#") == 1


async def test_private_addresses_are_refused_unless_allowed(
    feed_server: FeedServer, env: dict[str, str]
) -> None:
    url = feed_server.add("/kk.xml", rss([UNIONS_KK]))
    code, _, err = await habar({**env, "ALLOW_PRIVATE_FEEDS": "false"}, "feed", "add", url)
    assert code == 1
    assert "private address" in err


async def test_classify_reads_json_lines_and_keeps_their_order(env: dict[str, str]) -> None:
    lines = [
        {"title": "Тоқаев Мәжіліс депутаттарымен кездесті", "summary": ""},
        {"title": "Минздрав призвал казахстанцев пройти вакцинацию от кори", "id": 7},
        {"title": "Teachers' union demands higher salaries", "summary": "A strike is possible."},
    ]
    stdin = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines).encode()
    code, out, _ = await habar(env, "classify", stdin=stdin)
    got = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [g["lang"] for g in got] == ["kk", "ru", "en"]
    assert "politics" in got[0]["topics"]
    assert "health" in got[1]["topics"]
    assert got[1]["id"] == 7
    assert "unions" in got[2]["topics"]


async def test_classify_reports_a_bad_line_and_goes_on(env: dict[str, str]) -> None:
    code, out, err = await habar(env, "classify", stdin=b'not json\n{"title": "Hello"}\n')
    assert code == 1
    assert "line 1" in err
    assert len(out.splitlines()) == 2


async def test_cluster_gives_each_item_its_story_in_order(env: dict[str, str]) -> None:
    """Two reports of one mine fire share a story, a strike is another; a report a week later
    is a new story (the 48-hour window); a bad line is reported and the rest goes on."""
    mine = "В Караганде на шахте имени Костенко АрселорМиттал Темиртау"
    lines = [
        {
            "id": "a",
            "title": "На шахте имени Костенко погиб 21 горняк",
            "summary": f"{mine} произошёл пожар, погиб 21 человек.",
            "source": "Tengrinews",
            "published": "2023-10-28",
        },
        {
            "title": "Рабочие ТОО Кезби в Жанаозене вышли на забастовку",
            "summary": "Работники компании Кезби в Жанаозене отказались выходить на смену.",
            "source": "Vlast.kz",
            "published": "",
        },
        {
            "title": "Число погибших на шахте имени Костенко выросло до 36",
            "summary": f"{mine} погибли уже 36 горняков.",
            "source": "Zakon.kz",
            "published": "2023-10-28T20:00:00+05:00",
            "lang": "ru",
        },
        {
            "title": "На шахте имени Костенко погибли 46 горняков",
            "summary": f"{mine} погибли 46 горняков.",
            "source": "Orda.kz",
            "published": "2023-11-05",
        },
    ]
    rows = [json.dumps(x, ensure_ascii=False) for x in lines]
    stdin = "\n".join([*rows[:2], "[1, 2]", *rows[2:]]).encode() + b"\n"
    code, out, err = await habar(env, "cluster", stdin=stdin)
    got = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    assert "line 3" in err
    assert [g.get("story") for g in got] == [1, 2, None, 1, 5]
    assert got[0]["id"] == "a"
    assert got[3]["title"] == lines[2]["title"]


async def test_preview_prints_the_digest_a_subscriber_would_get(
    feed_server: FeedServer, env: dict[str, str]
) -> None:
    await habar(env, "feed", "add", feed_server.add("/mixed.xml", rss([UNIONS_KK, SCHOOL_RU])))
    code, out, _ = await habar(env, "preview", "--lang", "kk", "--topics", "unions", "--ui", "kk")
    assert code == 0
    assert "https://kasipodak.example.kz/news/1" in out
    assert "news.example.kz/school" not in out
    assert "Кәсіподақтар" in out  # the topic heading, in Kazakh

    code, _, err = await habar(env, "preview", "--topics", "nosuch")
    assert code == 2
    assert "unions" in err  # names the valid values


async def test_poll_once_leaves_alone_a_feed_a_running_bot_is_polling(
    feed_server: FeedServer, env: dict[str, str]
) -> None:
    """Several instances lease feeds; `poll --once` beside them polls only the free ones."""
    from sqlalchemy import update

    from bot.storage.engine import make_engine
    from bot.storage.feeds import FEED_LEASE, FeedRepo
    from bot.storage.tables import feeds

    busy = feed_server.add("/busy.xml", rss([UNIONS_KK], title="Busy"))
    free = feed_server.add("/free.xml", rss([SCHOOL_RU], title="Free"))
    for url in (busy, free):
        assert (await habar(env, "feed", "add", url))[0] == 0
    engine = make_engine(env["DATABASE_URL"])
    try:
        repo = FeedRepo(engine)
        busy_row, free_row = await repo.get_by_url(busy), await repo.get_by_url(free)
        assert busy_row is not None and free_row is not None
        # A running instance leased the first feed a moment ago and is fetching it.
        async with engine.begin() as conn:
            lease = {"lease_owner": "bot-1", "lease_until": datetime.now(UTC) + FEED_LEASE}
            await conn.execute(update(feeds).where(feeds.c.id == busy_row.id).values(lease))
        hits = len(feed_server.log)

        code, out, _ = await habar(env, "poll", "--once")

        assert code == 0
        assert out.splitlines() == [
            f"#{free_row.id} Free: 0 new, not_modified",
            f"#{busy_row.id} Busy: skipped, a running bot is polling it",
        ]
        assert [h.path for h in feed_server.log[hits:]] == ["/free.xml"]
        after = await repo.get(busy_row.id)
        assert after is not None and after.lease_owner == "bot-1"  # still the bot's
    finally:
        await engine.dispose()

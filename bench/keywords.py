"""Keyword alerts benchmark: one planning round's keyword work for many places.

    python bench/keywords.py [--places 10000] [--keywords 20] [--items 1000] [--db-places 10000]

Items are the 929 labelled ru/kk/en news items of tests/data (titles and leads), cycled to
`--items`. Each place gets random languages and topics and `--keywords` terms drawn from
the items' own words: mostly single words, some two-word phrases, two exclusions.

Run 1 (the figure, budget 5 s): what the planner does for keywords in one round, in memory:
index the new items once (feeds.keywords.ItemIndex), then per place look its terms up and
decide which items reach it (language AND (topic OR include) AND NOT exclusion).
Run 2: a whole digest round as the bot runs it, on a SQLite file: `Digests.plan_due` for
`--db-places` places whose daily digest is due (read the new items once, choose each place's
items, render its digest, queue it and move its cursor), then the same round with the
keywords taken away: the difference is what keywords add.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select

from bot.catalogues import GettextLocalizer, load_catalogues
from bot.services.digest import Digests
from bot.storage.engine import make_engine
from bot.storage.feeds import FeedRepo
from bot.storage.items import FeedSuccess, ItemRepo
from bot.storage.migrate import upgrade_to_head
from bot.storage.outbox import OutboxRepo
from bot.storage.subscribers import Subscriber, SubscriberRepo
from bot.storage.tables import outbox, subscribers
from feeds.keywords import ItemIndex
from feeds.models import Item, Lang
from feeds.topics import Taxonomy

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "labelled"
LANGS = ("ru", "kk", "en")
TOPICS = ("politics", "unions", "education", "health", "economy", "social", "youth", "culture")
WORD = re.compile(r"[^\W\d_]{5,}")


def load_items(count: int) -> list[dict]:
    """`count` items cycled from the labelled data, each with a distinct id."""
    rows = [
        json.loads(line)
        for name in ("items.jsonl", "dev.jsonl")
        for line in (DATA / name).read_text("utf-8").splitlines()
        if line.strip()
    ]
    return [{**rows[i % len(rows)], "n": i + 1} for i in range(count)]


def make_places(items: list[dict], count: int, per_place: int, rng: random.Random) -> list[dict]:
    """Places with random filters and terms made of the items' words."""
    words = sorted({w.lower() for it in items for w in WORD.findall(it["title"])})
    places = []
    for _ in range(count):
        terms = [rng.choice(words) for _ in range(per_place - 5)]
        terms += [f'"{rng.choice(words)} {rng.choice(words)}"' for _ in range(3)]
        terms += [f"-{rng.choice(words)}" for _ in range(2)]
        langs = frozenset(rng.sample(LANGS, rng.randint(1, 3)))
        topics = frozenset(rng.sample(TOPICS, rng.randint(0, 3)))
        places.append({"langs": langs, "topics": topics, "terms": tuple(dict.fromkeys(terms))})
    return places


def plan_in_memory(items: list[dict], places: list[dict]) -> tuple[float, float, int]:
    """Seconds to index, seconds to choose every place's items, and items chosen in all."""
    start = time.perf_counter()
    index = ItemIndex()
    for it in items:
        index.add(it["n"], it["title"], it["summary"], it["lang"] == "kk")
    indexed = time.perf_counter()
    by_lang = {lang: {it["n"] for it in items if it["lang"] == lang} for lang in LANGS}
    by_topic = {t: {it["n"] for it in items if t in it["topics"]} for t in TOPICS}
    chosen, base = 0, {}  # base: items by languages and topics, shared by places alike
    for place in places:
        found = index.select(place["terms"])
        key = (place["langs"], place["topics"])
        if key not in base:
            langs = set().union(*(by_lang[lang] for lang in place["langs"]))
            topical = set().union(*(by_topic[t] for t in place["topics"])) & langs
            base[key] = (frozenset(langs), frozenset(topical))
        langs, topical = base[key]
        # |(topical ∪ (included ∩ langs)) − excluded|, set operations led by the smaller sets
        extra = (found.included & langs) - topical
        excluded = found.excluded
        chosen += len(topical) + len(extra) - len(excluded & topical) - len(excluded & extra)
    return indexed - start, time.perf_counter() - indexed, chosen


async def round_in_sqlite(items: list[dict], places: list[dict]) -> tuple[float, int, int]:
    """Seconds for one `Digests.plan_due` round of every place, items chosen, messages queued."""
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp}/bench.db")
        await upgrade_to_head(engine)
        feed = await FeedRepo(engine).add(
            url="https://bench.example.kz/rss", title="", site_url=None, lang_hint=None, now=now
        )
        batch = [
            Item(
                key=f"k{it['n']}",
                url=f"https://bench.example.kz/{it['n']}",
                title=it["title"],
                summary=it["summary"],
                published=now - timedelta(minutes=it["n"] % 600),
                lang=Lang(it["lang"]),
                topics=frozenset(it["topics"]),
            )
            for it in items
        ]
        success = FeedSuccess(None, None, None, now, now)
        await ItemRepo(engine).store_poll(
            feed.id, batch, success, source="bench", backfill=timedelta(days=1)
        )
        subs = SubscriberRepo(engine)
        due = now - timedelta(minutes=1)
        for chat, place in enumerate(places, start=1):
            sub = Subscriber(chat, "ru", place["langs"], place["topics"], "daily", ("09:00",),
                             "Asia/Almaty", "active", 0, due, now, place["terms"])  # fmt: skip
            await subs.create(sub, now)
        taxonomy = Taxonomy.load(None)
        digests = Digests(
            subscribers=subs,
            outbox=OutboxRepo(engine),
            topic_order=taxonomy.slugs,
            localizer=GettextLocalizer(load_catalogues(), taxonomy),
            backfill=timedelta(days=1),
            clock=lambda: now,
        )
        start = time.perf_counter()
        planned = await digests.plan_due()
        seconds = time.perf_counter() - start
        async with engine.connect() as conn:
            queued = (await conn.execute(select(func.count()).select_from(outbox))).scalar_one()
            moved = select(func.count()).where(subscribers.c.cursor_item_id > 0)
            chosen = (await conn.execute(moved)).scalar_one()
        await engine.dispose()
    assert planned == len(places), (planned, len(places))
    return seconds, int(chosen or 0), int(queued)


def main() -> None:
    """Run both measurements and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--places", type=int, default=10_000)
    parser.add_argument("--keywords", type=int, default=20)
    parser.add_argument("--items", type=int, default=1_000)
    parser.add_argument("--db-places", type=int, default=10_000)
    args = parser.parse_args()
    rng = random.Random(10)
    items = load_items(args.items)
    places = make_places(items, args.places, args.keywords, rng)
    terms = sum(len(p["terms"]) for p in places)
    print(f"{args.places} places, {terms} terms, {args.items} new items")
    for label in ("first round (terms parsed)", "next round (terms known)"):
        cpu = time.process_time()
        index_s, choose_s, chosen = plan_in_memory(items, places)
        total, cpu = index_s + choose_s, time.process_time() - cpu
        verdict = "ok" if total <= 5 else "OVER"
        print(f"  {label}: {total:.2f} s (budget 5 s: {verdict}), {cpu:.2f} s of CPU")
        print(f"    index the items once {index_s:.2f} s, choose for every place {choose_s:.2f} s")
    print(f"  ({chosen} items chosen in all; load average {os.getloadavg()[0]:.1f}", end="")
    print(f" on {os.cpu_count()} cores)")
    db_places = places[: args.db_places]
    for label, run in (
        ("with keywords", db_places),
        ("same, no keywords", [{**p, "terms": ()} for p in db_places]),
    ):
        cpu = time.process_time()
        seconds, moved, queued = asyncio.run(round_in_sqlite(items, run))
        cpu = time.process_time() - cpu
        verdict = "ok" if seconds <= 5 else "OVER"
        print(
            f"  whole round on SQLite, {label}: {seconds:.2f} s for {len(run)} places "
            f"(budget 5 s: {verdict}), {seconds / max(1, len(run)) * 1000:.2f} ms a place; "
            f"{queued} messages queued, {moved} cursors moved"
        )


if __name__ == "__main__":
    main()

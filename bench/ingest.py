"""Ingestion benchmark: 1,000 feeds x 50 realistic items (~50 KB a feed) served on loopback.

Prints the time of a cold cycle (every item new), a warm cycle (nothing changed: all 304),
items stored per second, the longest event-loop stall, and peak memory.
The feeds are served by a separate process, spread over 50 loopback addresses so that the
per-host connection limit works as it would against many sites.

Items are real news: each takes a title and one or two lead paragraphs from the labelled dev set
(tests/data/labelled/dev.jsonl; Kazakh in Cyrillic, Latin and Arabic script, Russian,
English), with a picture, share and "read also" boilerplate around them. A feed is in one
language: 50% Kazakh, 40% Russian, 10% English. Every title and lead is new to the
classifier, as in a cold cycle; only words repeat. `--synthetic` builds items from a small
list of topic words instead (~64 KB a feed), as earlier versions of this bench did.

    python bench/ingest.py [--feeds 1000] [--items 50] [--synthetic]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import open_resources
from bot.config import load_settings
from tests.support.feed_server import FeedServer, rss

HOSTS = 50
DEV_SET = Path(__file__).resolve().parents[1] / "tests/data/labelled/dev.jsonl"
FEED_LANGS = ("kk", "ru") * 4 + ("kk", "en")
WORDS_RU = (
    "профсоюз работники заработная плата министерство образования учителя школы больница врачи "
    "пенсии правительство депутаты Мажилиса закон экономика тенге инфляция бюджет молодежь "
    "культура театр фестиваль область акимат Алматы Астана Шымкент забастовка договор"
).split()
WORDS_KK = (
    "кәсіподақ жұмысшылар жалақы білім министрлігі мұғалімдер мектеп аурухана дәрігерлер "
    "зейнетақы үкімет депутаттар Мәжіліс заң экономика теңге инфляция бюджет жастар мәдениет "
    "театр фестиваль облыс әкімдік Алматы Астана Шымкент ереуіл келісім және үшін бойынша"
).split()
BOILER = "<p>Читайте также: <a href='/other'>другие новости</a></p><p>Поделитесь в соцсетях</p>"


def real_items() -> dict[str, list[dict[str, str]]]:
    """The dev set's items with a lead, by language."""
    by_lang: dict[str, list[dict[str, str]]] = {}
    for line in DEV_SET.read_text("utf-8").splitlines():
        row = json.loads(line)
        if row.get("summary") and row["lang"] in FEED_LANGS:
            by_lang.setdefault(row["lang"], []).append(row)
    return by_lang


def make_real_feed(
    n: int, items: int, rng: random.Random, by_lang: dict[str, list[dict[str, str]]]
) -> bytes:
    """A ~50 KB RSS document of real news items in one language."""
    lang = FEED_LANGS[n % len(FEED_LANGS)]
    pool = by_lang[lang]
    now = datetime.now(UTC)
    entries = []
    for i in range(items):
        head = rng.choice(pool)
        # The numbers make every title and lead new text; the classifier reads no digits.
        body = f"<p>{head['summary']} ({n}.{i})</p>"
        if rng.random() < 0.5:  # half the leads run to a second paragraph
            body += f"<p>{rng.choice(pool)['summary']}</p>"
        entries.append(
            {
                "title": f"{head['title']} ({n}.{i})",
                "link": f"https://site{n % HOSTS}.example.kz/news/{n}/{i}?utm_source=rss",
                "guid": f"https://site{n % HOSTS}.example.kz/news/{n}/{i}",
                "description": f"<p><img src='/i/{i}.jpg'/></p>{body}{BOILER}",
                "pubDate": now - timedelta(minutes=i * 7 + n % 60),
            }
        )
    return rss(entries, title=f"Feed {n}", language=lang)


def make_feed(n: int, items: int, rng: random.Random) -> bytes:
    """A ~64 KB RSS document of word-salad Kazakh or Russian items (`--synthetic`)."""
    words = WORDS_KK if n % 2 else WORDS_RU
    now = datetime.now(UTC)
    entries = []
    for i in range(items):
        title = " ".join(rng.choice(words) for _ in range(9)).capitalize()
        body = " ".join(rng.choice(words) for _ in range(45))
        entries.append(
            {
                "title": title,
                "link": f"https://site{n % HOSTS}.example.kz/news/{n}/{i}?utm_source=rss",
                "guid": f"https://site{n % HOSTS}.example.kz/news/{n}/{i}",
                "description": f"<p><img src='/i/{i}.jpg'/>{body}.</p>{BOILER}",
                "pubDate": now - timedelta(minutes=i * 7 + n % 60),
            }
        )
    return rss(entries, title=f"Feed {n}", language="kk" if n % 2 else "ru")


def serve(
    port_queue: multiprocessing.Queue,  # type: ignore[type-arg]
    stop: multiprocessing.Event,  # type: ignore[valid-type]
    feeds: int,
    items: int,
    synthetic: bool,
) -> None:
    """Run the feed server in its own process until told to stop."""

    async def main() -> None:
        rng = random.Random(7)
        by_lang = real_items()
        size = 0
        async with FeedServer(hosts=tuple(f"127.0.0.{h + 1}" for h in range(HOSTS))) as srv:
            for n in range(feeds):
                doc = (
                    make_feed(n, items, rng)
                    if synthetic
                    else make_real_feed(n, items, rng, by_lang)
                )
                size += len(doc)
                srv.add(f"/feed/{n}.xml", doc)
            port_queue.put((srv.port, size / max(feeds, 1)))
            await asyncio.get_running_loop().run_in_executor(None, stop.wait)

    asyncio.run(main())


class StallMonitor:
    """Measures the longest time the event loop failed to wake a 10 ms timer on time."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.01)
            self.worst = max(self.worst, time.perf_counter() - start - 0.01)

    def __enter__(self) -> StallMonitor:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


def reference_loop() -> float:
    """Seconds one core takes for a fixed pure-Python loop: the machine's speed right now.

    Shared virtual machines drift; this puts a figure next to the cycle times it explains.
    """
    start = time.process_time()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.process_time() - start


def cpu_seconds(pids: list[int]) -> float:
    """User+system CPU time of worker processes so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except OSError:
            pass
    return total


def peak_rss_mib(pids: list[int]) -> tuple[float, float]:
    """Peak resident memory of this process and the sum over worker processes, in MiB."""
    main = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = 0.0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    workers += int(line.split()[1]) / 1024
        except OSError:
            pass
    return main, workers


async def bench(feeds: int, items: int, synthetic: bool) -> None:
    ctx = multiprocessing.get_context("spawn")
    ports: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    stop = ctx.Event()
    server = ctx.Process(target=serve, args=(ports, stop, feeds, items, synthetic), daemon=True)
    server.start()
    port, feed_bytes = await asyncio.get_running_loop().run_in_executor(None, ports.get, True, 300)
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            database_url=f"sqlite+aiosqlite:///{tmp}/bench.db", allow_private_feeds=True
        )
        async with open_resources(settings) as res:
            now = datetime.now(UTC)
            for n in range(feeds):
                host = f"127.0.0.{n % HOSTS + 1}"
                await res.feeds.add(
                    url=f"http://{host}:{port}/feed/{n}.xml",
                    title="",
                    site_url=None,
                    lang_hint=None,
                    now=now,
                )
            # Start every parse worker before timing, as a running bot has them already
            # (the pool spawns them on demand).
            warm = make_feed(0, 1, random.Random(1))
            await asyncio.gather(
                *(res.ingest.process(warm, {}, "http://x/", None) for _ in range(8))
            )
            all_feeds = await res.feeds.list()
            speed = reference_loop()
            pids = list(getattr(res.ingest._executor, "_processes", {}) or {})
            cpu0, wcpu0 = time.process_time(), cpu_seconds(pids)
            scpu0 = cpu_seconds([server.pid])
            with StallMonitor() as cold_stall:
                t0 = time.perf_counter()
                cold = await res.poller.run_once(all_feeds)
                cold_s = time.perf_counter() - t0
            cold_cpu, cold_wcpu = time.process_time() - cpu0, cpu_seconds(pids) - wcpu0
            cold_scpu = cpu_seconds([server.pid]) - scpu0
            stored = await res.items.count()
            all_feeds = await res.feeds.list()
            with StallMonitor() as warm_stall:
                t0 = time.perf_counter()
                warm = await res.poller.run_once(all_feeds)
                warm_s = time.perf_counter() - t0
            main_mib, workers_mib = peak_rss_mib(pids)
    stop.set()
    server.join(10)
    failed = [o for o in cold + warm if not o.ok]
    kind = "synthetic" if synthetic else "real news"
    print(f"feeds: {feeds}, items per feed: {items} ({kind}), {feed_bytes / 1024:.1f} KB a feed")
    print(f"reference loop (machine speed, lower is faster): {speed:.2f} s")
    print(f"cold cycle: {cold_s:.2f} s ({sum(o.new_items for o in cold)} new items)")
    print(f"warm cycle: {warm_s:.2f} s ({sum(o.status == 'not_modified' for o in warm)} x 304)")
    print(f"items stored per second (cold): {stored / cold_s:,.0f}")
    print(
        f"cold CPU: main process {cold_cpu:.1f} s, parse workers {cold_wcpu:.1f} s, "
        f"feed server (not Habar) {cold_scpu:.1f} s"
    )
    print(
        f"longest event-loop stall: cold {cold_stall.worst * 1000:.1f} ms, "
        f"warm {warm_stall.worst * 1000:.1f} ms"
    )
    print(f"peak memory: main process {main_mib:.0f} MiB, parse workers {workers_mib:.0f} MiB")
    print(f"failed polls: {len(failed)}")
    for o in failed[:5]:
        print(f"  {o.url}: {o.status} {o.detail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--synthetic", action="store_true", help="word-salad items, ~64 KB")
    args = parser.parse_args()
    asyncio.run(bench(args.feeds, args.items, args.synthetic))


if __name__ == "__main__":
    main()

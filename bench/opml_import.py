"""OPML import benchmark: a file of N feeds (10 items each) served on loopback, into SQLite.

Prints the time to read the file and the time to check and add every feed, 8 at a time, as
`/import` and `python -m bot feed import` do, and the same file imported again (every feed
already present).

    python bench/opml_import.py [--feeds 2000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import load_settings
from bot.resources import open_resources
from bot.services.opml import IMPORT_CONCURRENCY, Outline, import_outlines, read_opml
from feeds.opml import write_opml
from tests.support.feed_server import FeedServer, rss


def items(n: int) -> list[dict[str, object]]:
    """Ten Russian news items of feed n."""
    now = datetime.now(UTC)
    return [
        {
            "title": f"Профсоюз учителей №{n}-{i} требует повысить зарплату",
            "link": f"https://news{n}.example.kz/{i}",
            "description": "Работники образования собрались на митинг у акимата.",
            "pubDate": now - timedelta(minutes=i),
        }
        for i in range(10)
    ]


async def run(feeds: int, concurrency: int) -> None:
    """Serve the feeds, write the file, import it twice, print the figures."""
    async with FeedServer() as server:
        urls = [server.add(f"/{n}.xml", rss(items(n), title=f"Feed {n}")) for n in range(feeds)]
        data = write_opml(
            [Outline(u, f"Feed {n}") for n, u in enumerate(urls)],
            title="bench",
            created=datetime.now(UTC),
        )
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(
                database_url=f"sqlite+aiosqlite:///{tmp}/habar.db", allow_private_feeds=True
            )
            async with open_resources(settings) as res:
                start = time.perf_counter()
                outlines = read_opml(data)
                read = time.perf_counter() - start
                start = time.perf_counter()
                report = await import_outlines(res.feed_admin, outlines, concurrency=concurrency)
                cold = time.perf_counter() - start
                start = time.perf_counter()
                again = await import_outlines(res.feed_admin, outlines, concurrency=concurrency)
                warm = time.perf_counter() - start
    print(f"file: {feeds} feeds, {len(data) / 1024:.0f} KiB, read in {read * 1000:.1f} ms")
    print(
        f"import: {len(report.added)} added, {len(report.failed)} failed in {cold:.1f} s "
        f"({feeds / cold:.0f} feeds/s)"
    )
    print(f"again: {len(again.present)} already present in {warm:.2f} s")


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=IMPORT_CONCURRENCY)
    args = parser.parse_args()
    asyncio.run(run(args.feeds, args.concurrency))


if __name__ == "__main__":
    main()

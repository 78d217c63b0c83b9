"""Scale-out benchmark: 1, 2 and 3 `python -m bot` processes on PostgreSQL and Redis.

    python bench/scale.py [--feeds 2000] [--subscribers 10000] [--deliver 1500] [--cap 30]
                          [--instances 1,2,3] [--redis redis://127.0.0.1:6379/10]

For each instance count, on a fresh PostgreSQL database and an emptied Redis database:
1. Cold poll: `--feeds` feeds (5 items each, on 50 loopback addresses) become due at once;
   prints the cycle time (first feed request to the last feed stored) and the CPU-seconds per
   feed of all bot processes and their parser workers.
2. Delivery: one digest each is queued for `--deliver` of the `--subscribers` subscribers;
   the fake Telegram refuses anything over `--cap` messages a second (no burst allowance) and
   every instance has SEND_RATE_PER_SECOND = cap. Prints the delivery rate as a share of the
   cap, the most messages the fake saw in any one second, 429s, lost and duplicated.
Delivery to all 10,000 would take 333 s per instance count at 30/s; by default 1,500 of them
get a digest, so the whole run takes a few minutes on 2 shared cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from redis.asyncio import Redis
from sqlalchemy import func, insert, select, text, update

from bot.storage.engine import make_engine
from bot.storage.migrate import upgrade_to_head
from bot.storage.tables import feeds, items, outbox, subscribers
from tests.e2e.botprocess import BotProcess
from tests.support.fake_telegram import FakeTelegram
from tests.support.feed_server import FeedServer, rss

ROOT = Path(__file__).resolve().parents[1]
HOSTS = 50
PG_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
START_TIMEOUT = 300.0  # a cold start imports aiogram: slow on a busy 2-core box


def feed_doc(n: int) -> bytes:
    """A small feed of 5 fresh items, its own words so each item is new."""
    now = datetime.now(UTC)
    entries = [
        {
            "title": f"Новость {n}-{i}: акимат области обсудил бюджет и зарплаты учителей",
            "link": f"https://site{n % HOSTS}.example.kz/news/{n}/{i}",
            "guid": None,
            "description": f"Депутаты и профсоюз обсудили пенсии и тарифы ({n}, {i}).",
            "pubDate": now - timedelta(minutes=10 + i),
        }
        for i in range(5)
    ]
    return rss(entries)


def cpu_of_groups(leaders: list[int]) -> float:
    """User+system CPU seconds of every process in these process groups (bots and parsers)."""
    ticks, total = os.sysconf("SC_CLK_TCK"), 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in leaders:  # field 5 of stat: the process group
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


async def create_db() -> str:
    """A fresh PostgreSQL database; returns its URL."""
    name = f"habar_scale_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


async def drop_db(url: str) -> None:
    """Drop a database create_db made."""
    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    await admin.dispose()


async def seed(url: str, server: FeedServer, n_feeds: int, n_subs: int) -> None:
    """Feeds (not due yet) and daily subscribers whose next digest is far away."""
    engine = make_engine(url)
    now = datetime.now(UTC)
    later = now + timedelta(days=1)
    try:
        await upgrade_to_head(engine)
        feed_rows = []
        for n in range(n_feeds):
            server.add(f"/feed/{n}.xml", feed_doc(n))
            host = f"127.0.0.{n % HOSTS + 1}"
            feed_rows.append(
                {
                    "url": f"http://{host}:{server.port}/feed/{n}.xml",
                    "created_at": now,
                    "next_check_at": later,
                }
            )
        sub_rows = [
            {
                "chat_id": c,
                "ui_lang": "ru",
                "timezone": "Asia/Almaty",
                "next_digest_at": later,
                "created_at": now,
                "updated_at": now,
            }
            for c in range(1, n_subs + 1)
        ]
        async with engine.begin() as conn:
            await conn.execute(insert(feeds), feed_rows)
            await conn.execute(insert(subscribers), sub_rows)
    finally:
        await engine.dispose()


async def start_bots(n: int, fake: FakeTelegram, url: str, redis: str, cap: float, work: Path):
    """`n` bot processes sharing the database and Redis, once each has started."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.url,
        "DATABASE_URL": url,
        "REDIS_URL": redis,
        "ALLOW_PRIVATE_FEEDS": "true",
        "POLL_INTERVAL_SECONDS": "100",  # a poll tick every 10 s; no feed is due twice in a run
        "SEND_RATE_PER_SECOND": f"{cap:g}",
        "WEB_PORT": "0",  # several bots on one machine: no HTTP server each
    }
    bots = [await BotProcess.start(env, work, wait_for=None) for _ in range(n)]
    for bot in bots:
        await bot.wait_log("Habar started", START_TIMEOUT)
    return bots


async def cold_poll(engine, server: FeedServer, bots: list[BotProcess]) -> tuple[float, float]:
    """Make every feed due; (seconds from the first request to the last feed stored, CPU s)."""
    leaders = [b.proc.pid for b in bots]
    cpu0 = cpu_of_groups(leaders)
    hits0 = len(server.log)
    async with engine.begin() as conn:
        await conn.execute(update(feeds).values(next_check_at=datetime.now(UTC)))
        total = (await conn.execute(select(func.count()).select_from(feeds))).scalar_one()
    first = None
    undone = select(func.count()).select_from(feeds).where(feeds.c.last_polled_at.is_(None))
    while True:
        if first is None and len(server.log) > hits0:
            first = time.monotonic()
        async with engine.connect() as conn:
            left = (await conn.execute(undone)).scalar_one()
        if not left:
            break
        await asyncio.sleep(0.2)
    done = time.monotonic()
    cpu = cpu_of_groups(leaders) - cpu0
    print(f"  cold poll: {total} feeds in {done - (first or done):.1f} s, "
          f"{cpu / total * 1000:.1f} CPU-ms per feed ({cpu:.1f} CPU-s in all)")  # fmt: skip
    return done - (first or done), cpu / total


async def deliver(engine, fake: FakeTelegram, n: int, cap: float) -> dict[str, float]:
    """Queue one digest for chats 1..n and wait until the fake has them all."""
    newest = select(items.c.title).order_by(items.c.id.desc()).limit(8)
    async with engine.begin() as conn:
        titles = [r.title for r in await conn.execute(newest)]
        body = "\n".join(f"• <b>{t}</b>" for t in titles)
        rows = [
            {"chat_id": c, "text": f"Дайджест {c}\n{body}", "created_at": datetime.now(UTC)}
            for c in range(1, n + 1)
        ]
        await conn.execute(insert(outbox), rows)
    want = {(r["chat_id"], r["text"]) for r in rows}

    def reached() -> bool:
        return len({m.chat_id for m in fake.sent}) >= n

    try:
        await fake.wait_until(reached, timeout=n / cap * 2 + 120)
    except AssertionError:
        print("  gave up waiting for every chat")
    await asyncio.sleep(3)  # anything repeated late would arrive now
    got = Counter((m.chat_id, m.html) for m in fake.sent)
    times = sorted(m.at for m in fake.sent)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    peak = max(
        (sum(1 for t in times[i : i + int(cap) * 3] if t < s + 1.0) for i, s in enumerate(times)),
        default=0,
    )
    return {
        "rate": (len(times) - 1) / span if span else 0.0,
        "peak": peak,
        "too_many": fake.stats.too_many,
        "lost": sum(1 for key in want if got[key] == 0),
        "duplicated": sum(k - 1 for k in got.values() if k > 1),
    }


async def one(n: int, args: argparse.Namespace, server: FeedServer, work: Path) -> None:
    """Seed, start `n` instances, measure both phases, stop them."""
    print(f"{n} instance(s):")
    url = await create_db()
    redis = Redis.from_url(args.redis)
    await redis.flushdb()
    engine = make_engine(url)
    bots: list[BotProcess] = []
    try:
        await seed(url, server, args.feeds, args.subscribers)
        async with FakeTelegram() as fake:
            fake.rate_limit(args.cap, per_chat_per_second=1)
            for chat in range(1, args.deliver + 1):
                fake.register_chat(chat)
            bots = await start_bots(n, fake, url, args.redis, args.cap, work)
            await cold_poll(engine, server, bots)
            f = await deliver(engine, fake, args.deliver, args.cap)
            print(f"  delivery: {args.deliver} digests at {f['rate']:.2f}/s = "
                  f"{f['rate'] / args.cap:.1%} of the {args.cap:g}/s cap; most in one second: "
                  f"{f['peak']:.0f}; 429s: {f['too_many']:.0f}; lost {f['lost']:.0f}, "
                  f"duplicated {f['duplicated']:.0f}")  # fmt: skip
            for bot in bots:
                bot.terminate()
            for bot in bots:
                await bot.exit_code(60)
    finally:
        for bot in bots:
            await bot.close()
        await engine.dispose()
        await redis.flushdb()
        await redis.aclose()
        await drop_db(url)


async def main(args: argparse.Namespace) -> None:
    """Run every instance count on the same feeds and subscribers."""
    print(f"{args.feeds} feeds, {args.subscribers} subscribers, {args.deliver} digests, "
          f"cap {args.cap:g}/s, {os.cpu_count()} CPUs")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="habar-scale-") as tmp:
        async with FeedServer(hosts=tuple(f"127.0.0.{h + 1}" for h in range(HOSTS))) as server:
            for n in [int(x) for x in args.instances.split(",")]:
                await one(n, args, server, Path(tmp))


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--feeds", type=int, default=2000)
    p.add_argument("--subscribers", type=int, default=10_000)
    p.add_argument("--deliver", type=int, default=1500, help="subscribers who get a digest")
    p.add_argument("--cap", type=float, default=30.0, help="messages a second, fake and bot")
    p.add_argument("--instances", default="1,2,3")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/10", help="emptied before use")
    return p.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))

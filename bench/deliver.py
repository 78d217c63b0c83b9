"""Delivery benchmark: the real Sender, Bot client and SQLite outbox against the fake Telegram.

    python bench/deliver.py [--subscribers 10000] [--cap 30] [--fast-rate 100000]

Run 1: every subscriber has one queued digest (~1-3 KB of HTML); the fake refuses anything over
`--cap` messages a second with 429 + retry_after, like Telegram; the sender is set to the same
rate. Prints the rate achieved, 429s, messages lost and duplicated, and the total time.
Run 2: the fake's cap is lifted and the sender's rate set to `--fast-rate`: the sender's ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery import RateLimiter, Sender, TelegramLimits
from bot.services.render import DigestItem, DigestText, render_digest
from bot.storage.engine import make_engine
from bot.storage.migrate import upgrade_to_head
from bot.storage.outbox import OutboxRepo, Plan
from bot.storage.subscribers import Subscriber, SubscriberRepo
from bot.storage.tables import outbox
from tests.support.fake_telegram import FakeTelegram

TITLES = [
    "Токаев подписал закон о реформе системы государственного управления",
    "Нацбанк Казахстана сохранил базовую ставку на уровне 16,5% годовых",
    "В Алматы открылась новая линия метро до микрорайона Калкаман",
    "Астанада жаңа мектептер салынады: 2025 жылы 40 мың оқушы орны",
    "Курс тенге: доллар подешевел на утренних торгах KASE",
    "Қазақстан құрамасы әлем чемпионатының іріктеу кезеңінде жеңіске жетті",
    "Цены на бензин АИ-92 выросли в нескольких регионах страны",
    "Шымкентте су құбырын жаңғырту жұмыстары басталды",
    "Минздрав рассказал о вакцинации от кори в школах Караганды",
    "Kazakhstan's oil output rises as Tengiz expansion comes online",
    "Ақтөбе облысында егін жинау науқаны аяқталуға жақын",
    "В Павлодаре задержали подозреваемых в хищении бюджетных средств",
    "Синоптики прогнозируют сильный ветер и гололёд на севере республики",
    "Air Astana adds direct flights from Almaty to Seoul and Bangkok",
    "Елордада халықаралық кітап көрмесі өтіп жатыр",
    "Казахстанские учёные разработали систему раннего оповещения о паводках",
]
SOURCES = ["Tengrinews", "Kazinform", "Zakon.kz", "Orda.kz", "Egemen Qazaqstan", "Astana Times"]
TOPICS = ("politics", "economy", "society", "sport", "tech")
NAMES = {"politics": "Политика", "economy": "Экономика", "society": "Общество", "sport": "Спорт"}


@dataclass
class Figures:
    """What one run measured."""

    queued: int
    accepted: int
    rate: float
    too_many: int
    lost: int
    duplicated: int
    unrecorded: int
    seconds: float


def digest(rng: random.Random, chat: int, now: datetime) -> str:
    """A realistic one-part digest of 5-15 Kazakh/Russian/English headlines (~1-3 KB of HTML)."""
    items = [
        DigestItem(
            id=chat * 100 + i,
            url=f"https://news.example.kz/{rng.choice(TOPICS)}/{chat}-{i}?utm_source=rss",
            title=f"{rng.choice(TITLES)} ({i + 1})",
            source=rng.choice(SOURCES),
            published=now - timedelta(minutes=rng.randrange(1, 600)),
            topics=(rng.choice(TOPICS),),
        )
        for i in range(rng.randrange(5, 16))
    ]
    header = f"Дайджест для чата {chat}: {len(items)} новостей"
    text = DigestText(header=header, other_heading="Другое", continued="(продолжение)")
    [part] = render_digest(
        items,
        topic_order=TOPICS[:4],
        chosen_topics=None,
        topic_name=lambda slug: NAMES.get(slug, slug),
        tz=ZoneInfo("Asia/Almaty"),
        text=text,
        now=now,
    )
    return part


async def seed(engine: AsyncEngine, n: int) -> dict[int, str]:
    """Create n subscribers and queue one digest each through the repositories."""
    subs, box = SubscriberRepo(engine), OutboxRepo(engine)
    now, rng, texts = datetime.now(UTC), random.Random(n), {}
    for chat in range(1, n + 1):
        sub = Subscriber(chat, "ru", None, None, "daily", ("09:00",), "Asia/Almaty", "active", 0,
                         None, now)  # fmt: skip
        await subs.create(sub, now)
        texts[chat] = digest(rng, chat, now)
        await box.plan_snapshot(chat, lambda _snap, t=texts[chat]: Plan([t], None), now)
    return texts


async def deliver(
    engine: AsyncEngine, texts: dict[int, str], *, cap: float | None, rate: float, conc: int
) -> Figures:
    """Send everything queued through the fake and count what Telegram accepted."""
    queued = len(texts)
    async with FakeTelegram() as fake:
        fake.rate_limit(cap)  # the bench sets its own overall cap and no per-chat limit
        for chat in texts:  # subscribers from before: each pressed Start once
            fake.register_chat(chat)
        bot = Bot(fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.url)))
        try:
            limits = TelegramLimits(RateLimiter(rate))
            bot.session.middleware(limits)
            repos = {"outbox": OutboxRepo(engine), "subscribers": SubscriberRepo(engine)}
            sender = Sender(bot, **repos, concurrency=conc, idle_wait=1.0)
            started = time.monotonic()
            sender.start()
            await wait_all_chats(fake, queued, cap or rate)
            await sender.drain(10.0)
            seconds = time.monotonic() - started
        finally:
            await bot.session.close()
        return measure(fake, texts, seconds, await unrecorded(engine))


async def wait_all_chats(fake: FakeTelegram, n: int, rate: float) -> None:
    """Until every chat got a message, or far past the time that should take."""
    chats: set[int | str] = set()
    scanned = 0

    def check() -> bool:
        nonlocal scanned
        while scanned < len(fake.sent):
            chats.add(fake.sent[scanned].chat_id)
            scanned += 1
        return len(chats) >= n

    try:
        await fake.wait_until(check, timeout=n / rate * 1.5 + 60)
    except AssertionError as exc:
        print(f"  gave up waiting: {len(chats)} of {n} chats reached ({exc})")


async def unrecorded(engine: AsyncEngine) -> int:
    """Outbox rows still not marked sent."""
    query = select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
    async with engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


def measure(fake: FakeTelegram, texts: dict[int, str], seconds: float, left: int) -> Figures:
    """Compare what the fake accepted with what was queued."""
    got = Counter((m.chat_id, m.html) for m in fake.sent)
    lost = sum(1 for chat, text in texts.items() if got[(chat, text)] == 0)
    duplicated = sum(n - 1 for n in got.values() if n > 1)
    times = [m.at for m in fake.sent]
    span = (max(times) - min(times)) if len(times) > 1 else 0.0
    rate = (len(times) - 1) / span if span else 0.0
    return Figures(
        len(texts), len(fake.sent), rate, fake.stats.too_many, lost, duplicated, left, seconds
    )


def report(title: str, f: Figures, cap: float | None) -> None:
    """Print one run's figures."""
    print(title)
    share = f" ({f.rate / cap:.1%} of the {cap:g}/s cap)" if cap else ""
    print(f"  messages/second achieved: {f.rate:.2f}{share}")
    print(f"  429s received:            {f.too_many}")
    print(f"  messages queued:          {f.queued}  accepted: {f.accepted}")
    print(f"  messages lost:            {f.lost}")
    print(f"  messages duplicated:      {f.duplicated}")
    print(f"  rows not marked sent:     {f.unrecorded}")
    print(f"  total time:               {f.seconds:.1f} s")


async def one_run(
    workdir: Path, name: str, n: int, *, cap: float | None, rate: float, conc: int
) -> Figures:
    """Seed a fresh SQLite file and deliver its outbox."""
    engine = make_engine(f"sqlite+aiosqlite:///{workdir / name}.db")
    try:
        await upgrade_to_head(engine)
        began = time.monotonic()
        texts = await seed(engine, n)
        sizes = sorted(len(t.encode()) for t in texts.values())
        print(
            f"  seeded {n} subscribers + digests in {time.monotonic() - began:.1f} s; "
            f"digest sizes {sizes[0]}-{sizes[-1]} B, median {sizes[len(sizes) // 2]} B"
        )
        return await deliver(engine, texts, cap=cap, rate=rate, conc=conc)
    finally:
        await engine.dispose()


async def main(args: argparse.Namespace) -> int:
    """Run the capped and the uncapped benchmark and print both."""
    n = args.subscribers
    with tempfile.TemporaryDirectory(prefix="habar-bench-") as tmp:
        work = Path(tmp)
        print(f"Run 1: {n} subscribers, fake capped at {args.cap:g}/s, sender rate {args.cap:g}/s")
        capped = await one_run(
            work, "capped", n, cap=args.cap, rate=args.cap, conc=args.concurrency
        )
        report("Run 1 (Telegram's cap):", capped, args.cap)
        if args.fast_rate <= 0:
            return 0
        print(f"Run 2: {n} subscribers, no cap, sender rate {args.fast_rate:g}/s")
        fast = await one_run(work, "fast", n, cap=None, rate=args.fast_rate, conc=args.concurrency)
        report("Run 2 (no cap):", fast, None)
    ok = capped.rate >= 0.95 * args.cap and not (capped.lost or capped.duplicated)
    print("target (>= 95% of cap, 0 lost, 0 duplicated):", "met" if ok else "MISSED")
    return 0 if ok else 1


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--subscribers", type=int, default=10_000)
    p.add_argument("--cap", type=float, default=30.0, help="the fake's global messages/second")
    p.add_argument("--fast-rate", type=float, default=100_000.0, help="run 2 rate; 0 skips it")
    p.add_argument("--concurrency", type=int, default=32, help="chats sent to at once")
    return p.parse_args()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))

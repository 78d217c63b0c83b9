"""Shared send limiter benchmark: how close the Redis limiter alone lets the bot come to its cap.

    python bench/limiter.py [--processes 1,3] [--seconds 20] [--latency-ms 30] [--rate 30]
                            [--redis redis://127.0.0.1:6379/9]

Each process runs `RedisRateLimiter` (the one several instances share) with 8 workers that
send to fresh chats without pause; a "send" is a sleep of `--latency-ms` (Telegram's answer
time), counted as received by Telegram half-way. No database, no HTTP: what is left between
the cap and the rate measured is the limiter's own cost (its hand-over from one send to the
next) plus the latency, which it must count (a send counts from its start until one window
after its answer). Prints, per process count, the steady rate (first and last 2 s left out)
as a share of the cap and the most sends received in any one second (must not pass the cap).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import multiprocessing
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis.asyncio import Redis

from bot.redis_coordination import RedisRateLimiter

WORKERS = 8


def _process(
    index: int, args: argparse.Namespace, prefix: str, out: multiprocessing.Queue
) -> None:
    async def run() -> list[float]:
        redis = Redis.from_url(args.redis)
        limiter = RedisRateLimiter(redis, args.rate, prefix=prefix)
        received: list[float] = []
        end = time.time() + args.seconds
        half = args.latency_ms / 2000

        async def worker(number: int) -> None:
            sent = 0
            while time.time() < end:
                sent += 1
                chat = (index * WORKERS + number) * 1_000_000 + sent  # never the same chat twice
                token = await limiter.acquire(chat)
                await asyncio.sleep(half)
                received.append(time.time())
                await asyncio.sleep(half)
                await limiter.done(chat, token, limiter.now())

        await asyncio.gather(*(worker(n) for n in range(WORKERS)))
        await redis.aclose()
        return received

    out.put(asyncio.run(run()))


def measure(processes: int, args: argparse.Namespace) -> tuple[float, int]:
    """Steady sends a second and the most received in any one second."""
    prefix, out = f"habar:bench:{uuid.uuid4().hex}", multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=_process, args=(i, args, prefix, out))
        for i in range(processes)
    ]
    for proc in workers:
        proc.start()
    received = sorted(t for _ in workers for t in out.get())
    for proc in workers:
        proc.join()
    low, high = received[0] + 2, received[-1] - 2
    rate = sum(1 for t in received if low <= t <= high) / (high - low)
    most = max(bisect.bisect_left(received, t + 1.0) - i for i, t in enumerate(received))
    return rate, most


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", default="1,3")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--latency-ms", type=float, default=30)
    parser.add_argument("--rate", type=float, default=30)
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9"))
    args = parser.parse_args()
    ceiling = args.rate / (1 + args.latency_ms / 1000)
    print(
        f"cap {args.rate:g}/s, answer latency {args.latency_ms:g} ms: counting each send until "
        f"a second after its answer allows at most {ceiling:.2f}/s ({ceiling / args.rate:.1%})"
    )
    for processes in (int(n) for n in args.processes.split(",")):
        rate, most = measure(processes, args)
        verdict = "ok" if most <= args.rate else "OVER THE CAP"
        print(
            f"  {processes} process(es): {rate:.2f}/s = {rate / args.rate:.1%} of the cap; "
            f"most received in any 1 s: {most} ({verdict}); load average {os.getloadavg()[0]:.1f}"
        )


if __name__ == "__main__":
    main()

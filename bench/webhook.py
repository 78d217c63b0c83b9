"""Webhook benchmark: how fast the bot takes updates, each recorded once in the database.

    python bench/webhook.py [--updates 2000] [--connections 40] [--database-url URL]

The real bot (HabarApp in webhook mode, SQLite in a temporary file by default) against the
fake Telegram. Each update is a plain message no handler answers, so only the webhook path is
measured: the secret check, reading the update, recording its id, starting its handling.
`--connections` POSTs are in flight at once, as Telegram's max_connections allows. Then every
update is sent again, as Telegram does when it saw no 200: each must be answered 200 and
not handled. Prints updates taken per second, latency percentiles and the duplicates found.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from aiohttp import ClientSession

from bot.app import HabarApp
from bot.config import load_settings
from tests.support import updates
from tests.support.fake_telegram import DEFAULT_TOKEN, FakeTelegram
from tests.support.tg_webhook import SECRET_HEADER

SECRET = "bench-secret"


def _update(n: int) -> dict[str, object]:
    chat = updates.chat(10_000 + n, "private")
    return updates.message_update(n, updates.message(n, chat, updates.user(10_000 + n), "hi"))


async def _post_all(url: str, count: int, connections: int) -> tuple[float, list[float]]:
    """POST updates 1..count, `connections` at a time; wall time and each request's time."""
    latencies: list[float] = []
    queue = iter(range(1, count + 1))
    async with ClientSession() as session:

        async def worker() -> None:
            for n in queue:
                start = time.perf_counter()
                headers = {SECRET_HEADER: SECRET}
                async with session.post(url, json=_update(n), headers=headers) as response:
                    assert response.status == 200, await response.text()
                latencies.append(time.perf_counter() - start)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
    return time.perf_counter() - began, latencies


def _report(label: str, count: int, wall: float, latencies: list[float]) -> None:
    q = statistics.quantiles(latencies, n=100)
    print(
        f"{label}: {count} updates in {wall:.2f} s = {count / wall:.0f}/s; "
        f"latency p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms"
    )


async def main(count: int, connections: int, database_url: str | None) -> None:
    """Run both rounds and print their figures."""
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{tmp}/habar.db"
        async with FakeTelegram(DEFAULT_TOKEN) as fake:
            settings = load_settings(
                bot_token=DEFAULT_TOKEN,
                telegram_api_url=fake.url,
                database_url=url,
                webhook_url="https://habar.example/hook",
                webhook_secret=SECRET,
                web_port=_free_port(),
            )
            async with HabarApp(settings) as app:
                task = asyncio.create_task(app.serve(handle_signals=False))
                await app.started.wait()
                assert app.web is not None
                hook = app.web.url + "/hook"
                wall, lat = await _post_all(hook, count, connections)
                _report("first delivery", count, wall, lat)
                wall, lat = await _post_all(hook, count, connections)
                _report("sent again    ", count, wall, lat)
                await app.inflight.wait_idle(60)
                print(f"handled: {app.inflight.handled} of {count} (each once)")
                await app.stop()
                await task


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=40)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.updates, args.connections, args.database_url))

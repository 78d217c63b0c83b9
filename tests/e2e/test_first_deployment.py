"""A first deployment as an operator runs it: `python -m bot` in its own process.

The admin named in ADMIN_IDS has never written to the bot, so Telegram knows no chat with
them and refuses their command menu; the bot must start anyway and set the menu when the
admin first writes. A token Telegram rejects, or a Telegram that cannot be reached, must
be said in one log line, never as a traceback.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable

from tests.e2e.botprocess import BotProcess, bot_env
from tests.e2e.conftest import ADMIN, USER, Chat
from tests.e2e.news import strikes
from tests.support.fake_telegram import FakeTelegram
from tests.support.feed_server import FeedServer, rss

ADMIN_SCOPE = {"type": "chat", "chat_id": ADMIN}
ADMIN_ONLY = {"addfeed", "delfeed", "feeds", "stats", "import", "export"}

StartBot = Callable[..., Awaitable[BotProcess]]


def _commands(fake: FakeTelegram, scope: dict | None, code: str = "") -> set[str]:
    return {name for name, _ in fake.commands_for(scope, code)}


async def test_first_start_with_an_admin_who_never_wrote_serves_users_then_the_admin(
    fake_tg: FakeTelegram,
    feed_server: FeedServer,
    sqlite_url: str,
    start_bot: StartBot,
) -> None:
    proc = await start_bot(bot_env(fake_tg, sqlite_url, admin_wrote_before=False))
    await proc.wait_log(f"admin {ADMIN}: the admin command menu was not set", 5)
    assert "chat not found" in proc.text
    assert "Traceback" not in proc.text
    assert _commands(fake_tg, None) >= {"start", "lang", "digest"}  # everyone's menu is set
    assert _commands(fake_tg, ADMIN_SCOPE) == set()

    user = Chat(fake_tg, USER, language_code="ru")
    assert "Я присылаю дайджесты новостей" in (await user.ask("/start")).text

    admin = Chat(fake_tg, ADMIN, language_code="en")
    await admin.ask("/start")
    for code in ("ru", "kk", "en", ""):
        assert _commands(fake_tg, ADMIN_SCOPE, code) >= ADMIN_ONLY, code
    url = feed_server.add("/strikes.xml", rss(strikes(3)))
    added = await admin.ask(f"/addfeed {url}")
    assert "✅" in added.text, added.text
    digest = await user.ask("/digest")
    assert len(digest.links) == 3
    assert "Traceback" not in proc.text


async def test_a_token_telegram_rejects_exits_2_with_one_line(
    fake_tg: FakeTelegram, sqlite_url: str, start_bot: StartBot
) -> None:
    env = {**bot_env(fake_tg, sqlite_url), "BOT_TOKEN": "123:not-the-right-token"}
    proc = await start_bot(env, wait_for=None)
    assert await proc.exit_code() == 2
    lines = [line for line in proc.log if line.strip()]
    assert len(lines) == 1, lines
    assert "BOT_TOKEN was rejected by Telegram" in lines[0]
    assert "Traceback" not in proc.text


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


async def test_an_unreachable_telegram_is_retried_with_backoff_until_stopped(
    fake_tg: FakeTelegram, sqlite_url: str, start_bot: StartBot
) -> None:
    env = {
        **bot_env(fake_tg, sqlite_url),
        "TELEGRAM_API_URL": f"http://127.0.0.1:{_closed_port()}",
    }
    proc = await start_bot(env, wait_for="trying again in 1 s")
    await proc.wait_log("trying again in 2 s", 10)  # the wait doubles
    proc.terminate()
    assert await proc.exit_code() == 0
    assert "Traceback" not in proc.text
    assert "Telegram cannot be reached" in proc.text

"""`python -m bot` in webhook mode with JSON logs: what an operator running it sees."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from tests.e2e.botprocess import BotProcess, bot_env
from tests.e2e.conftest import TOKEN, Chat
from tests.e2e.web import free_port, get
from tests.support.fake_telegram import FakeTelegram

SECRET = "process-Secret_0123456789"


async def test_webhook_bot_logs_json_lines_without_secrets_and_keeps_the_webhook_on_sigterm(
    start_bot: Callable[..., Awaitable[BotProcess]], fake_tg: FakeTelegram, sqlite_url: str
) -> None:
    port = free_port()
    env = {
        **bot_env(fake_tg, sqlite_url),
        "LOG_FORMAT": "json",
        "WEB_PORT": str(port),
        "WEBHOOK_URL": "https://habar.example/hook",
        "WEBHOOK_SECRET": SECRET,
    }
    bot = await start_bot(env, wait_for=None)
    await bot.wait_log("Habar started", 90)  # JSON lines; a loaded machine starts slowly
    base = f"http://127.0.0.1:{port}"
    fake_tg.route_webhook(base)

    reply = await Chat(fake_tg, 4242, language_code="en").ask("/start")
    assert reply.text
    assert await get(base + "/healthz") == (200, {"status": "ok"})
    bot.terminate()
    assert await bot.exit_code() == 0

    lines = [json.loads(line) for line in bot.log if line.strip()]
    assert lines, "nothing was logged"
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    assert any(line["message"] == "Habar started" for line in lines)
    assert SECRET not in bot.text and TOKEN.split(":")[1] not in bot.text
    assert fake_tg.webhook["url"] == "https://habar.example/hook"
    assert fake_tg.stats.calls["deleteWebhook"] == 0

"""One bot per SQLite file: a second `python -m bot` on it exits 2 and says what to do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.e2e.botprocess import BotProcess
from tests.e2e.conftest import Chat
from tests.e2e.gated_telegram import GatedTelegram

StartBot = Callable[..., Awaitable[BotProcess]]
SAYS = "several instances need PostgreSQL"
SLOW_START = 120.0  # on a loaded 2-core machine a cold start has taken 35 s


async def started(start_bot: StartBot) -> BotProcess:
    """A bot that logged its start, however long a busy machine makes that take."""
    bot = await start_bot(wait_for=None)
    await bot.wait_log("Habar started", SLOW_START)
    return bot


async def test_a_second_bot_on_the_same_sqlite_file_exits_2_with_one_line(
    start_bot: StartBot, fake_tg: GatedTelegram
) -> None:
    first = await started(start_bot)
    second = await start_bot(wait_for=None)

    code = await second.exit_code(SLOW_START)

    lines = [line for line in second.log if line.strip()]
    assert code == 2
    assert len(lines) == 1, lines
    assert SAYS in lines[0]
    assert first.proc.returncode is None
    reply = await Chat(fake_tg, 4242, language_code="en").ask("/help")
    assert "/start" in reply.text  # the first bot still answers


async def test_after_kill_9_the_next_bot_starts_on_the_same_file(
    start_bot: StartBot, fake_tg: GatedTelegram
) -> None:
    first = await started(start_bot)
    first.kill()
    assert await first.exit_code() == -9

    again = await started(start_bot)

    assert SAYS not in again.text
    assert again.proc.returncode is None

"""`python -m bot` as a real child process, for crash and signal tests against the fakes."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.e2e.conftest import ADMIN, START_TIMEOUT, TOKEN
from tests.support.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parents[2]


def bot_env(
    fake: FakeTelegram, database_url: str, *, admin_wrote_before: bool = True
) -> dict[str, str]:
    """The environment of a bot talking to `fake`, polling feeds every second.

    By default an established deployment: its admin pressed Start before. A first deployment
    (`admin_wrote_before=False`) has an admin Telegram knows no chat with yet.
    """
    if admin_wrote_before:
        fake.register_chat(ADMIN)
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": fake.url,
        "DATABASE_URL": database_url,
        "ALLOW_PRIVATE_FEEDS": "true",
        "ADMIN_IDS": str(ADMIN),
        "POLL_INTERVAL_SECONDS": "1",
        "WEB_PORT": "0",  # several bots run at once: a test that wants the server sets a port
    }


class BotProcess:
    """One run of `python -m bot` in its own process group, its log read as it is written."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.log: list[str] = []
        self._eof = False
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(
        cls, env: dict[str, str], cwd: Path, *, wait_for: str | None = "Habar started"
    ) -> BotProcess:
        """Start the bot (cwd without a .env) and wait until it logs `wait_for` (if given)."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,  # its parser workers share its group, as in a container
        )
        bot = cls(proc)
        if wait_for is not None:
            await bot.wait_log(wait_for, START_TIMEOUT)
        return bot

    @property
    def text(self) -> str:
        """Everything logged so far."""
        return "".join(self.log)

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            async with self._changed:
                self.log.append(raw.decode(errors="replace"))
                self._changed.notify_all()
        async with self._changed:
            self._eof = True
            self._changed.notify_all()

    async def wait_log(self, text: str, timeout: float) -> None:  # noqa: ASYNC109
        """Wait until a log line contains `text`."""

        def logged() -> bool:
            return any(text in line for line in self.log)

        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: logged() or self._eof)
        except TimeoutError:
            pass
        if not logged():
            raise AssertionError(f"{text!r} was not logged; log tail: {self.log[-15:]}")

    def kill(self) -> None:
        """kill -9 the bot and its worker processes: no shutdown code runs."""
        os.killpg(self.proc.pid, signal.SIGKILL)

    def terminate(self) -> None:
        """SIGTERM, as `docker stop` sends."""
        self.proc.send_signal(signal.SIGTERM)

    async def exit_code(self, timeout: float = 30) -> int:  # noqa: ASYNC109
        """Wait for the process to end and its log to be read; its exit code."""
        async with asyncio.timeout(timeout):
            code = await self.proc.wait()
            await self._reader
        return code

    async def close(self) -> None:
        """Kill it if it still runs (test teardown)."""
        if self.proc.returncode is None:
            self.kill()
        await self.exit_code()

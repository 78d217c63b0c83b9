"""Commands that do not talk to Telegram start without importing the Telegram library."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

OFFLINE_COMMANDS = [
    ("feed", "list"),
    ("items", "--limit", "1"),
    ("poll", "--once"),
    ("preview", "--lang", "ru"),
    ("classify",),
]


async def imported_modules(env: dict[str, str], *args: str) -> tuple[int, set[str]]:
    """Run `python -X importtime -m bot ARGS`; its exit code and every module it imported."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-X",
        "importtime",
        "-m",
        "bot",
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(b'{"title": "Alem"}\n'), 120)
    assert proc.returncode is not None
    lines = err.decode().splitlines()
    modules = {ln.rsplit("|", 1)[1].strip() for ln in lines if ln.startswith("import time:")}
    return proc.returncode, modules


@pytest.mark.parametrize("args", OFFLINE_COMMANDS, ids=" ".join)
async def test_offline_command_imports_no_telegram_library(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'habar.db'}",
    }
    code, modules = await imported_modules(env, *args)
    assert code == 0
    assert "bot.cli" in modules  # the command really ran through the CLI
    telegram = sorted(m for m in modules if m.split(".")[0] in ("aiogram", "handlers"))
    assert telegram == [], f"{' '.join(args)} imported {telegram[:5]}"

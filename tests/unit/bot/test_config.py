"""Settings: defaults, parsing, and one clear line with exit code 2 for bad values."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.resources import open_resources
from tests.support.topics_file import write_sport_topics

VARS = (
    "BOT_TOKEN",
    "TELEGRAM_API_URL",
    "ADMIN_IDS",
    "DATABASE_URL",
    "REDIS_URL",
    "POLL_INTERVAL_SECONDS",
    "DEFAULT_TIMEZONE",
    "BACKFILL_HOURS",
    "ALLOW_PRIVATE_FEEDS",
    "SEND_RATE_PER_SECOND",
    "TOPICS_FILE",
    "MAX_ITEMS_PER_POLL",
    "MAX_DIGEST_ITEMS",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_match_the_documented_contract() -> None:
    s = load_settings()
    assert s.telegram_api_url == "https://api.telegram.org"
    assert s.admin_ids == frozenset()
    assert s.database_url == "sqlite+aiosqlite:///./data/habar.db"
    assert s.poll_interval_seconds == 300
    assert s.default_timezone == "Asia/Almaty"
    assert s.backfill_hours == 24
    assert s.allow_private_feeds is False
    assert s.send_rate_per_second == 25
    assert (s.max_items_per_poll, s.max_digest_items) == (200, 100)


def test_admin_ids_accept_commas_and_spaces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", "12, 34,56")
    assert load_settings().admin_ids == frozenset({12, 34, 56})


def test_values_are_read_from_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BOT_TOKEN=1:abc\nPOLL_INTERVAL_SECONDS=60\n")
    s = load_settings()
    assert s.token() == "1:abc"
    assert s.poll_interval_seconds == 60


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("POLL_INTERVAL_SECONDS", "0"),
        ("POLL_INTERVAL_SECONDS", "often"),
        ("ADMIN_IDS", "alice,bob"),
        ("DEFAULT_TIMEZONE", "Mars/Olympus"),
        ("ALLOW_PRIVATE_FEEDS", "perhaps"),
        ("DATABASE_URL", "mysql://localhost/x"),
        ("TELEGRAM_API_URL", "api.telegram.org"),
        ("SEND_RATE_PER_SECOND", "-1"),
        ("TOPICS_FILE", "/nonexistent/topics.toml"),
        ("MAX_ITEMS_PER_POLL", "0"),
        ("MAX_DIGEST_ITEMS", "lots"),
    ],
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value).startswith(f"{name}:")
    assert "\n" not in str(err.value)


def test_missing_token_is_reported_only_when_running_the_bot() -> None:
    s = load_settings()
    with pytest.raises(ConfigError, match=r"^BOT_TOKEN:"):
        s.token()


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_running_without_token_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = _run(env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: BOT_TOKEN: required to run the bot (set it in .env)"
    ]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("token", ["abc", "123456", ":abc", "12x:abc", "123:ab cd"])
def test_a_malformed_token_prints_one_line_without_the_token_and_exits_2(
    tmp_path: Path, token: str
) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "BOT_TOKEN": token}
    proc = _run(env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: BOT_TOKEN: not a bot token (BotFather gives 123456789:AAE...)"
    ]


def test_malformed_setting_exits_2_without_traceback(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "POLL_INTERVAL_SECONDS": "soon"}
    proc = _run("feed", "list", env=env)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: POLL_INTERVAL_SECONDS:")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args",
    [["feed"], ["feed", "add"], ["poll"], ["items", "--limit", "zero"], ["nonsense"]],
)
def test_bad_arguments_exit_2_with_a_message(args: list[str]) -> None:
    proc = _run(*args)
    assert proc.returncode == 2
    assert proc.stderr.strip()
    assert "Traceback" not in proc.stderr


async def test_topics_file_extends_the_builtin_taxonomy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    custom = write_sport_topics(tmp_path)
    monkeypatch.setenv("TOPICS_FILE", str(custom))
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'habar.db'}")
    with ThreadPoolExecutor(1) as pool:
        async with open_resources(load_settings(), executor=pool) as res:
            taxonomy = res.taxonomy
    assert "sport" in taxonomy.slugs
    assert {"politics", "unions", "economy"} <= set(taxonomy.slugs)  # the built-in ones stay
    assert taxonomy.name("sport", "kk") == "Спорт"

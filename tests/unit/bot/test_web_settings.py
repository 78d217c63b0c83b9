"""WEB_HOST, WEB_PORT, WEBHOOK_URL, WEBHOOK_SECRET and LOG_FORMAT: defaults and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.config import load_settings

VARS = ("WEB_HOST", "WEB_PORT", "WEBHOOK_URL", "WEBHOOK_SECRET", "LOG_FORMAT", "BOT_TOKEN")
SECRET = "a-Valid_secret-1"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_TOKEN", "123:ABC")


def test_defaults_are_long_polling_text_logs_and_the_server_on_localhost_8080() -> None:
    s = load_settings()
    assert (s.web_host, s.web_port) == ("127.0.0.1", 8080)
    assert s.webhook_url == "" and s.webhook_secret is None
    assert s.log_format == "text"


def test_webhook_settings_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_URL", "https://habar.example.kz/tg")
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    s = load_settings()
    assert s.webhook_url == "https://habar.example.kz/tg"
    assert s.webhook_secret is not None and s.webhook_secret.get_secret_value() == SECRET


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WEBHOOK_URL": "https://h.example/x"}, "WEBHOOK_SECRET: required with WEBHOOK_URL"),
        (
            {"WEBHOOK_URL": "https://h.example/x", "WEBHOOK_SECRET": "has space"},
            "WEBHOOK_SECRET: 1-256 characters of A-Z, a-z, 0-9, _ and - only",
        ),
        (
            {"WEBHOOK_URL": "https://h.example/x", "WEBHOOK_SECRET": "x" * 257},
            "WEBHOOK_SECRET: 1-256 characters",
        ),
        ({"WEBHOOK_URL": "http://h.example/x", "WEBHOOK_SECRET": SECRET}, "WEBHOOK_URL: "),
        (
            {"WEBHOOK_URL": "https://h.example/x", "WEBHOOK_SECRET": SECRET, "WEB_PORT": "0"},
            "WEB_PORT: 0 turns off the server WEBHOOK_URL needs",
        ),
        ({"WEB_PORT": "70000"}, "WEB_PORT: "),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT: "),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable_and_exit_2(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    message: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    assert main(["run"]) == 2

    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}")
    assert err.count("\n") == 1
    assert "has space" not in err and "x" * 257 not in err  # a secret is never echoed

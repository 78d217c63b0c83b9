"""Settings from the environment and `.env`; a bad value is one clear line and exit code 2."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# What BotFather issues: the bot's numeric id, a colon, then the secret part.
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
# What setWebhook accepts as secret_token (https://core.telegram.org/bots/api#setwebhook).
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    """Every setting Habar reads; names are a contract with deployments."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    database_url: str = "sqlite+aiosqlite:///./data/habar.db"
    redis_url: str = ""
    poll_interval_seconds: int = Field(300, ge=1)
    default_timezone: str = "Asia/Almaty"
    backfill_hours: int = Field(24, ge=0)
    allow_private_feeds: bool = False
    send_rate_per_second: float = Field(25, gt=0)
    topics_file: str = ""
    # Loaded at start by the commands that classify items (bot.cli.check_topic_model).
    topic_model_file: str = ""
    max_items_per_poll: int = Field(200, ge=1)
    max_digest_items: int = Field(100, ge=1)
    retention_days: int = Field(90, ge=1)
    web_host: str = "127.0.0.1"
    web_port: int = Field(8080, ge=0, le=65535)
    webhook_url: str = ""
    webhook_secret: SecretStr | None = None
    log_format: Literal["text", "json"] = "text"

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith("https://"):
            raise ValueError("Telegram calls webhooks over HTTPS only: https://HOST/PATH")
        return value

    @model_validator(mode="after")
    def _webhook_secret(self) -> Settings:
        if not self.webhook_url:
            return self
        if not self.web_port:
            raise ConfigError("WEB_PORT: 0 turns off the server WEBHOOK_URL needs")
        secret = self.webhook_secret.get_secret_value() if self.webhook_secret else ""
        if not secret:  # the value itself is never echoed: it is a secret
            raise ConfigError("WEBHOOK_SECRET: required with WEBHOOK_URL (1-256 of A-Za-z0-9_-)")
        if not _WEBHOOK_SECRET.match(secret):
            raise ConfigError("WEBHOOK_SECRET: 1-256 characters of A-Z, a-z, 0-9, _ and - only")
        return self

    @field_validator("topics_file")
    @classmethod
    def _topics_file(cls, value: str) -> str:
        if value:
            from feeds.topics import Taxonomy, TaxonomyError

            try:
                Taxonomy.load(Path(value))
            except TaxonomyError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p for p in value.replace(";", ",").replace(" ", ",").split(",") if p]
            try:
                return frozenset(int(p) for p in parts)
            except ValueError:
                raise ValueError("comma-separated numeric Telegram user ids expected") from None
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB")
        return value

    def token(self) -> str:
        """The bot token, or ConfigError when it is needed and missing."""
        if self.bot_token is None or not self.bot_token.get_secret_value().strip():
            raise ConfigError("BOT_TOKEN: required to run the bot (set it in .env)")
        token = self.bot_token.get_secret_value().strip()
        if not _TOKEN.match(token):  # the value itself is never echoed: it is a secret
            raise ConfigError("BOT_TOKEN: not a bot token (BotFather gives 123456789:AAE...)")
        return token


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning pydantic's report into one line that names the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err["loc"] else "settings"
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name}: {msg}") from None

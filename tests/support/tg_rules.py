"""What the fake Telegram checks and records: message rules, fault injection and rate limits."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.support.tg_entities import all_entities
from tests.support.tg_html import HtmlError, parse_html, utf16_len

MAX_TEXT_UTF16 = 4096
MAX_ENTITIES = 100
MAX_CALLBACK_DATA_BYTES = 64
_BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
TEXT_BUTTON = "Bad Request: text buttons are unallowed in the inline keyboard"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    """A Bot API error reply: HTTP status, Telegram's description and optional parameters."""

    def __init__(self, code: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        """Return the JSON body Telegram sends for this error."""
        body: dict[str, Any] = {"ok": False, "error_code": self.code}
        body["description"] = self.description
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass(slots=True)
class Msg:
    """A message as Telegram stored it: plain text after parsing, entities, keyboard, options."""

    chat_id: int | str
    message_id: int
    text: str
    html: str  # the text exactly as the bot sent it
    parse_mode: str | None
    entities: list[dict]
    entities_dropped: int  # entities past Telegram's 100th, silently lost
    links: list[str]  # URLs of the text links that survived
    reply_markup: dict | None
    link_preview_disabled: bool
    link_preview_options: dict | None
    date: int
    at: float  # event-loop time when accepted, for pacing figures in benchmarks
    edit_date: int | None = None
    thread_id: int | None = None  # the forum topic it was posted in (message_thread_id)

    def buttons(self) -> list[tuple[str, str | None]]:
        """Return (text, callback_data or url) for each inline button, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b.get("text", ""), b.get("callback_data", b.get("url"))) for r in rows for b in r]


@dataclass(slots=True)
class CallbackAnswer:
    """An answerCallbackQuery call, with the query it answered."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    chat_id: int | str
    message_id: int
    data: str


@dataclass
class FakeStats:
    """Counters kept in O(1) per request so a benchmark can read them afterwards."""

    requests: int = 0
    accepted: int = 0
    too_many: int = 0
    server_errors: int = 0
    forbidden: int = 0
    bad_requests: int = 0
    calls: Counter[str] = field(default_factory=Counter)

    def count_error(self, code: int) -> None:
        """Count one error reply by its class."""
        if code == 429:
            self.too_many += 1
        elif code >= 500:
            self.server_errors += 1
        elif code == 403:
            self.forbidden += 1
        elif code == 400:
            self.bad_requests += 1


@dataclass(slots=True)
class Rendered:
    """Text after parse_mode was applied, with the entities Telegram kept."""

    text: str
    entities: list[dict]
    dropped: int


def as_json(value: Any, what: str = "reply keyboard markup") -> Any:
    """Decode a JSON-encoded form field; a JSON body passes objects through unchanged."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise ApiError(400, f"Bad Request: can't parse {what} JSON object") from None


def as_bool(value: Any) -> bool:
    """Read a Bot API boolean sent as JSON, form text or Python value."""
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def render(params: dict[str, Any]) -> Rendered:
    """Apply parse_mode to text as Telegram does, or raise the ApiError Telegram would."""
    raw = params.get("text")
    if not isinstance(raw, str) or not raw.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    mode = params.get("parse_mode") or None
    if mode is not None and mode.lower() not in ("html", "markdown", "markdownv2"):
        raise ApiError(400, f"Bad Request: unsupported parse_mode {mode}")
    if mode is not None and mode.lower() == "html":
        try:
            text, entities = parse_html(raw)
        except HtmlError as exc:
            raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
    else:  # Markdown is not parsed by the fake: the text is stored as sent
        text, entities = raw.strip(), list(as_json(params.get("entities"), "entities") or [])
    if not text:
        raise ApiError(400, "Bad Request: message text is empty")
    entities = all_entities(text, entities)
    if utf16_len(text) > MAX_TEXT_UTF16:
        raise ApiError(400, "Bad Request: message is too long")
    dropped = max(0, len(entities) - MAX_ENTITIES)
    return Rendered(text, entities[:MAX_ENTITIES] if dropped else entities, dropped)


def check_markup(raw: Any) -> dict | None:
    """Validate reply_markup like Telegram (callback_data 1-64 bytes, no bare text buttons)."""
    if raw is None or raw == "":
        return None
    markup = as_json(raw)
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", ()):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if not _BUTTON_ACTIONS.intersection(button):
                raise ApiError(400, TEXT_BUTTON)
    return markup


class Faults:
    """Per-chat states and one-shot failures injected by tests, checked before each send."""

    def __init__(self) -> None:
        self.chats: dict[int | str, ApiError] = {}
        self.fail_left = 0
        self.fail_status = 500
        self.storm_left = 0
        self.storm_retry_after = 1

    def check_chat(self, chat_id: int | str) -> None:
        """Raise the error Telegram gives for a blocked, deactivated, missing or moved chat."""
        error = self.chats.get(chat_id)
        if error is not None:
            raise error

    def check_send(self) -> None:
        """Raise an injected 5xx or storm 429 for this sendMessage."""
        if self.fail_left:
            self.fail_left -= 1
            reason = "Bad Gateway" if self.fail_status == 502 else "Internal Server Error"
            raise ApiError(self.fail_status, reason)
        if self.storm_left:
            self.storm_left -= 1
            raise ApiError(
                429,
                f"Too Many Requests: retry after {self.storm_retry_after}",
                {"retry_after": self.storm_retry_after},
            )

"""Values that flow out of the feeds library: fetch results, parsed feeds and clean items."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Lang(enum.StrEnum):
    """Language of an item; `other` covers everything we do not serve."""

    KK = "kk"
    RU = "ru"
    EN = "en"
    OTHER = "other"


SERVED_LANGS: tuple[Lang, ...] = (Lang.RU, Lang.KK, Lang.EN)


class FetchErrorKind(enum.StrEnum):
    """Why a fetch or parse failed; stored on the feed, translated only at the Telegram edge."""

    DNS = "dns"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    HTTP_STATUS = "http_status"
    TOO_LARGE = "too_large"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    NETWORK = "network"
    PRIVATE_ADDRESS = "private_address"
    BAD_URL = "bad_url"
    NOT_A_FEED = "not_a_feed"
    UNPARSEABLE = "unparseable"


class FetchError(Exception):
    """A classified failure to fetch or parse a feed."""

    def __init__(self, kind: FetchErrorKind, detail: str = "", status: int | None = None):
        super().__init__(f"{kind.value}: {detail}" if detail else kind.value)
        self.kind = kind
        self.detail = detail
        self.status = status

    def __reduce__(self) -> tuple[type[FetchError], tuple[FetchErrorKind, str, int | None]]:
        # Parsing runs in worker processes: the error must survive pickling intact.
        return (type(self), (self.kind, self.detail, self.status))


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A successful HTTP exchange: a body to parse, or `not_modified` for a 304."""

    url: str
    final_url: str
    not_modified: bool
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry as the feed gave it, before cleaning (HTML and all)."""

    guid: str | None
    link: str | None
    title: str
    summary: str
    published: datetime | None  # aware UTC, or None when missing/unparseable


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A parsed feed document."""

    title: str
    link: str | None
    language: str | None  # as declared by the feed, e.g. "ru-RU"; only a hint
    entries: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class Item:
    """A clean, classified item ready to store."""

    key: str  # stable identity: guid, else canonical URL, else hash(title, date)
    url: str  # canonical URL ("" when the entry had none)
    title: str
    summary: str
    published: datetime  # aware UTC; falls back to the time first seen
    lang: Lang
    topics: frozenset[str]

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        # Every poll's items cross from a parse worker to the main process. As a flat tuple
        # of plain values they pickle and load in ~40% of the time the default takes.
        fields = (self.key, self.url, self.title, self.summary, self.published)
        return _item, (*fields, self.lang.value, tuple(self.topics))


_LANGS = {lang.value: lang for lang in Lang}


def _item(
    key: str, url: str, title: str, summary: str, published: datetime, lang: str, topics: tuple
) -> Item:
    return Item(key, url, title, summary, published, _LANGS[lang], frozenset(topics))

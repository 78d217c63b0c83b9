"""The pure per-feed transform: raw bytes in, clean classified items out.

`process_document` is top-level and works on picklable values only, so the caller can run
it in a process pool and keep the event loop free while feedparser works.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from itertools import islice
from pathlib import Path

from feeds.identity import item_key
from feeds.models import Entry, Item, Lang, ParsedFeed
from feeds.normalize import clean_text
from feeds.parse import parse_feed
from feeds.topic_model import TopicModel
from feeds.topics import Classifier, Taxonomy
from feeds.urls import canonical_url

MAX_TITLE = 1000
MAX_SUMMARY = 2000
LEAD_CHARS = 600  # language and topics are read from the title and the lead, as an editor does


@dataclass(frozen=True, slots=True)
class ProcessedFeed:
    """A parsed feed's metadata with its entries turned into items."""

    title: str
    site_url: str | None
    language: str | None
    items: tuple[Item, ...]


@lru_cache(maxsize=8)
def taxonomy_at(path: str | None) -> Taxonomy:
    """The taxonomy from `path` (or the packaged one), loaded once per process."""
    return Taxonomy.load(Path(path) if path else None)


@lru_cache(maxsize=8)
def model_at(path: str | None) -> TopicModel:
    """The topic model from `path` (or the packaged one), loaded once per process."""
    return TopicModel.load(Path(path) if path else None)


@lru_cache(maxsize=8)
def classifier_at(taxonomy_path: str | None, model_path: str | None) -> Classifier:
    """Rules from `taxonomy_path` with the model from `model_path` (None: the packaged ones)."""
    return Classifier(taxonomy_at(taxonomy_path), model_at(model_path))


def lead_of(summary: str) -> str:
    """The part of a summary classification reads: its first LEAD_CHARS, cut at a space."""
    return summary if len(summary) <= LEAD_CHARS else summary[:LEAD_CHARS].rsplit(" ", 1)[0]


def classify_text(
    title: str,
    summary: str = "",
    hint: str | None = None,
    taxonomy_path: str | None = None,
    model_path: str | None = None,
) -> tuple[Lang, frozenset[str]]:
    """Language and topics of already-cleaned text: the one rule items and the CLI share.

    Only the lead of a long summary is read: it decides both, and full articles in
    descriptions would cost classification time for nothing.
    """
    return classifier_at(taxonomy_path, model_path).classify(title, lead_of(summary), hint)


def to_item(
    entry: Entry,
    *,
    feed_url: str,
    base: str,
    hint: str | None,
    now: datetime,
    tax_path: str | None,
    model_path: str | None = None,
) -> Item | None:
    """Clean, identify and classify one entry; None when it has neither title nor link."""
    title = clean_text(entry.title)[:MAX_TITLE]
    summary = clean_text(entry.summary)[:MAX_SUMMARY]
    url = canonical_url(entry.link or "", base)
    if not title and not url:
        return None
    if not title:
        title = summary[:120] or url
    if summary == title:
        summary = ""
    lang, topics = classify_text(title, summary, hint, tax_path, model_path)
    return Item(
        key=item_key(
            guid=entry.guid, url=url, title=title, published=entry.published, feed_url=feed_url
        ),
        url=url,
        title=title,
        summary=summary,
        published=entry.published or now,
        lang=lang,
        topics=topics,
    )


def without_shared_guids(entries: tuple[Entry, ...]) -> list[Entry]:
    """Drop guids that several entries of one feed share (often the site's home page):
    such a guid identifies nothing, and keying on it would collapse the items into one."""
    counts = Counter(e.guid for e in entries if e.guid)
    return [replace(e, guid=None) if e.guid and counts[e.guid] > 1 else e for e in entries]


def process_parsed(
    parsed: ParsedFeed,
    *,
    feed_url: str,
    hint: str | None,
    now: datetime,
    taxonomy_path: str | None = None,
    max_items: int | None = None,
    model_path: str | None = None,
) -> ProcessedFeed:
    """Turn a parsed feed into items; the feed's declared language is a hint only.

    With `max_items`, only the newest that many items are made: the rest are never
    classified, so a feed that suddenly lists thousands of entries costs what a normal one does.
    """
    base = parsed.link or feed_url
    lang_hint = hint or parsed.language
    entries = without_shared_guids(parsed.entries)
    if max_items is not None and len(entries) > max_items:
        # Undated entries count as new (they are stored as first seen now); ties keep feed order.
        entries.sort(key=lambda e: e.published or now, reverse=True)
    found = (
        to_item(
            e,
            feed_url=feed_url,
            base=base,
            hint=lang_hint,
            now=now,
            tax_path=taxonomy_path,
            model_path=model_path,
        )
        for e in entries
    )
    return ProcessedFeed(
        title=clean_text(parsed.title)[:500],
        site_url=parsed.link,
        language=parsed.language,
        items=tuple(islice((i for i in found if i is not None), max_items)),
    )


def process_document(
    raw: bytes,
    headers: dict[str, str],
    *,
    feed_url: str,
    hint: str | None,
    now: datetime,
    taxonomy_path: str | None = None,
    max_items: int | None = None,
    model_path: str | None = None,
) -> ProcessedFeed:
    """Parse raw feed bytes and process them (the newest `max_items`); FetchError for non-feeds."""
    parsed = parse_feed(raw, headers, feed_url)
    return process_parsed(
        parsed,
        feed_url=feed_url,
        hint=hint,
        now=now,
        taxonomy_path=taxonomy_path,
        max_items=max_items,
        model_path=model_path,
    )

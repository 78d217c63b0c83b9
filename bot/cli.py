"""Command line: run the bot, manage feeds, poll, list, classify and cluster items without
Telegram, train and evaluate the topic model."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.cli_feeds import feed_add, feed_export, feed_import, opml_file, progress
from bot.cli_topics import add_parsers as add_topics_parsers
from bot.cli_topics import topics_command
from bot.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from bot.resources import Resources

FEED_ERRORS = {
    "bad_url": "not an http(s) URL",
    "url_too_long": "the address is longer than 2,048 characters",
    "bad_lang": "language must be one of kk, ru, en",
    "duplicate": "already added",
    "no_such_feed": "no such feed",
    "dns": "host name not found",
    "refused": "connection refused",
    "timeout": "timed out",
    "http_status": "the server answered with an error status",
    "too_large": "the document is too large",
    "too_many_redirects": "too many redirects",
    "network": "network error",
    "private_address": "the host is on a private address (ALLOW_PRIVATE_FEEDS is false)",
    "not_a_feed": "not an RSS/Atom feed",
    "unparseable": "the feed could not be parsed",
    "storage": "the database refused to store the feed's items",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; argparse itself reports bad arguments with exit code 2."""
    p = argparse.ArgumentParser(prog="python -m bot", description="Habar news digest bot")
    sub = p.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot (the default)")
    feed = sub.add_parser("feed", help="manage feeds").add_subparsers(
        dest="feed_command", required=True, metavar="{add,list,remove,import,export}"
    )
    add = feed.add_parser("add", help="fetch, check and add feeds")
    add.add_argument("urls", nargs="+", metavar="URL")
    add.add_argument("--lang", choices=["kk", "ru", "en"], help="language hint for the feed")
    feed.add_parser("list", help="list feeds with their status")
    rm = feed.add_parser("remove", help="remove a feed (its items stay)")
    rm.add_argument("id", metavar="ID")
    imp = feed.add_parser("import", help="check and add every feed of an OPML file")
    imp.add_argument("file", type=opml_file, metavar="FILE.opml")
    imp.add_argument("--lang", choices=["kk", "ru", "en"], help="hint for feeds without one")
    exp = feed.add_parser("export", help="write every feed as OPML 2.0")
    exp.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")
    poll = sub.add_parser("poll", help="poll feeds")
    poll.add_argument("--once", action="store_true", required=True, help="poll every feed now")
    items = sub.add_parser("items", help="stored items, newest first")
    items.add_argument("--limit", type=_positive, default=20)
    items.add_argument("--json", action="store_true", help="one JSON object per line")
    cls = sub.add_parser("classify", help="JSON Lines on stdin -> with lang and topics on stdout")
    cls.add_argument(
        "--explain",
        action="store_true",
        help="add per item the rules that matched and the model's score per topic",
    )
    add_topics_parsers(sub)
    sub.add_parser("cluster", help="JSON Lines of items on stdin -> each with its story id")
    pre = sub.add_parser("preview", help="print the digest a subscriber would get now")
    pre.add_argument("--lang", default="all", help="languages: ru kk en all (comma-separated)")
    pre.add_argument("--topics", default="all", help="topic slugs or all (comma-separated)")
    pre.add_argument("--ui", choices=["ru", "kk", "en"], default="ru", help="interface language")
    pre.add_argument("--tz", default=None, help="time zone (default: DEFAULT_TIMEZONE)")
    return p


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m bot`; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "classify":
        return classify(sys.stdin, sys.stdout, explain=args.explain)
    if args.command == "cluster":
        return cluster(sys.stdin, sys.stdout)
    if args.command == "topics":
        return topics_command(args)
    try:
        settings = load_settings()
        if args.command in (None, "run"):
            settings.token()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    running = args.command in (None, "run")
    classifies = (
        running
        or args.command == "poll"
        or getattr(args, "feed_command", "")
        in (
            "add",
            "import",
        )
    )
    if classifies and not topic_model_ready(settings):
        return 2
    from bot.logs import configure

    configure(settings.log_format, logging.INFO if running else logging.WARNING)
    for chatty in ("alembic", "apscheduler"):  # a line per plugin, migration step and tick
        logging.getLogger(chatty).setLevel(logging.WARNING)
    if running:
        return _run(settings)
    return asyncio.run(_offline(settings, args))


def topic_model_ready(settings: Settings) -> bool:
    """Load the topic model now (TOPIC_MODEL_FILE or the packaged one), so a missing or
    corrupt file stops the command with one line before any feed is read."""
    from feeds.pipeline import model_at
    from feeds.topic_model import TopicModelError

    try:
        model_at(settings.topic_model_file or None)
    except TopicModelError as exc:
        print(f"error: TOPIC_MODEL_FILE: {exc}", file=sys.stderr)
        return False
    return True


def _run(settings: Settings) -> int:
    """The bot, once no other bot runs on its SQLite file (checked before the slow imports)."""
    from bot.storage.instance_lock import AlreadyRunning, single_instance

    try:
        with single_instance(settings.database_url):
            from bot.app import run

            return asyncio.run(run(settings))
    except AlreadyRunning as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


async def _offline(settings: Settings, args: argparse.Namespace) -> int:
    from bot.resources import open_resources

    async with open_resources(settings) as res:
        if args.command == "feed":
            return await _feed(res, args)
        if args.command == "preview":
            return await _preview(res, args)
        if args.command == "poll":
            return await _poll_once(res)
        return await _items(res, args)


async def _poll_once(res: Resources) -> int:
    """Poll every feed now, except those a running bot is polling at this moment."""
    from bot.storage.feeds import FEED_LEASE

    owner = f"cli:{os.getpid()}"
    every = await res.feeds.list()
    now = datetime.now(UTC)
    try:
        feeds = await res.feeds.claim_due(owner, now, FEED_LEASE, len(every) + 1, every=True)
        with progress(len(feeds), "feed") as step:
            outcomes = await res.poller.run_once(feeds, on_done=step)
    finally:
        await res.feeds.free_leases(owner)
    for o in outcomes:
        status = o.status if o.ok else f"error {o.status}: {o.detail}".rstrip(": ")
        print(f"#{o.feed_id} {o.title or o.url}: {o.new_items} new, {status}")
    taken = {f.id for f in feeds}
    for feed in every:
        if feed.id not in taken:
            print(f"#{feed.id} {feed.title or feed.url}: skipped, a running bot is polling it")
    if not every:
        print("no feeds: add one with `python -m bot feed add URL`")
    return 0


async def _feed(res: Resources, args: argparse.Namespace) -> int:
    from bot.services.feed_admin import FeedAdminError

    admin = res.feed_admin
    if args.feed_command == "add":
        return await feed_add(res, args.urls, args.lang, _reason)
    if args.feed_command == "import":
        return await feed_import(res, args.file, args.lang, _reason)
    if args.feed_command == "export":
        return await feed_export(res, args.output)
    if args.feed_command == "list":
        for f in await admin.list():
            state = "ok" if f.last_error_kind is None else f"error {f.last_error_kind}"
            seen = (
                f.last_success_at.isoformat(timespec="seconds") if f.last_success_at else "never"
            )
            print(
                f"#{f.id} {f.title or '-'} <{f.url}> {f.item_count} items, {state}, last ok {seen}"
            )
    else:
        try:
            gone = await admin.remove(args.id)
        except FeedAdminError as exc:
            print(f"error: {args.id}: {_reason(exc.reason, exc.detail)}", file=sys.stderr)
            return 1
        print(f"removed #{gone.id} {gone.title or gone.url}")
    return 0


async def _preview(res: Resources, args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from bot.services.errors import InputError
    from bot.services.subscriptions import LANGS, parse_choice

    tz = args.tz or res.settings.default_timezone
    try:
        ZoneInfo(tz)
        langs = parse_choice(args.lang, LANGS, "bad_lang")
        topics = parse_choice(args.topics, res.taxonomy.slugs, "bad_topic")
    except InputError as exc:
        print(f"error: {exc.key}: valid values are {exc.params.get('valid')}", file=sys.stderr)
        return 2
    except (ZoneInfoNotFoundError, ValueError):
        print(f"error: unknown time zone {tz!r}", file=sys.stderr)
        return 2
    digests = res.digests
    parts = await digests.preview(langs=langs, topics=topics, locale=args.ui, tz=tz)
    if not parts:
        print("nothing to send: no pending items match these settings")
    for n, part in enumerate(parts, 1):
        print(f"--- part {n}/{len(parts)} ---")
        print(part)
    return 0


def _reason(reason: str, detail: str) -> str:
    text = FEED_ERRORS.get(reason, reason)
    return f"{text} ({detail})" if detail and reason not in ("duplicate", "no_such_feed") else text


async def _items(res: Resources, args: argparse.Namespace) -> int:
    rows = await res.items.latest(args.limit)
    for r in rows:
        if args.json:
            obj = {
                "id": r.id,
                "url": r.url,
                "title": r.title,
                "lang": r.lang,
                "topics": list(r.topics),
                "published": r.published_at.isoformat(),
                "feed": r.source,
                "feed_id": r.feed_id,
            }
            print(json.dumps(obj, ensure_ascii=False))
        else:
            stamp = r.published_at.strftime("%Y-%m-%d %H:%M")
            print(f"{stamp} [{r.lang}] {r.title} <{r.url}> {','.join(r.topics) or '-'}")
    return 0


def classify(stdin: object, stdout: object, *, explain: bool = False) -> int:
    """Read JSON Lines with title/summary; write each back with `lang` and `topics`, in order.

    With `explain`, each line also gets `explain`: the patterns that matched per topic, the
    topics a sure pattern decided and the model's score and threshold per topic.
    """
    from bot.cli_topics import explain_line
    from feeds.normalize import clean_text
    from feeds.pipeline import classify_text
    from feeds.topic_model import TopicModelError

    try:
        classify_text("")  # loads the model now: a missing or corrupt one stops here
    except TopicModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    def fill(obj: dict[str, Any], number: int) -> None:
        title = clean_text(str(obj.get("title") or ""))
        summary = clean_text(str(obj.get("summary") or ""))
        if explain:
            explain_line(obj, title, summary)
        else:
            lang, topics = classify_text(title, summary)
            obj["lang"], obj["topics"] = lang.value, sorted(topics)

    return _each_line(stdin, stdout, fill)


def _each_line(stdin: object, stdout: object, fill: Callable[[dict[str, Any], int], None]) -> int:
    """Each JSON object on stdin filled in by `fill` and written back, in order; a line that is
    not an object (or that `fill` finds bad: ValueError) goes back as {"error": ...}, is
    reported on stderr, and makes the exit code 1."""
    status = 0
    for number, line in enumerate(stdin, 1):  # type: ignore[call-overload]
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("expected a JSON object")
            fill(obj, number)
        except ValueError as exc:
            print(f"error: line {number}: {exc}", file=sys.stderr)
            obj, status = {"error": f"line {number}: {exc}"}, 1
        stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    return status


def cluster(stdin: object, stdout: object) -> int:
    """Read JSON Lines of items (title, summary, source, published ISO date or empty, lang
    optional); write each back, in order, with `story`: the line number of the story's first
    item. Items are clustered one by one, as ingest would, within the 48-hour window."""
    from feeds.language import detect
    from feeds.normalize import clean_text
    from feeds.stories import StoryIndex, fingerprint

    index = StoryIndex()
    latest: datetime | None = None

    def fill(obj: dict[str, Any], number: int) -> None:
        nonlocal latest
        title = clean_text(str(obj.get("title") or ""))
        summary = clean_text(str(obj.get("summary") or ""))
        published = _when(obj.get("published"))
        lang = str(obj.get("lang") or detect(title, summary).value)
        fp = fingerprint(
            title, summary, source=str(obj.get("source") or ""), lang=lang, published=published
        )
        seen = published or latest or datetime.now(UTC)
        latest = max(latest or seen, seen)
        index.expire(latest)
        obj["story"] = index.assign(number, fp, seen)

    return _each_line(stdin, stdout, fill)


def _when(value: object) -> datetime | None:
    """An ISO date or date-time (UTC when it names no zone), or None when empty."""
    if not value:
        return None
    when = datetime.fromisoformat(str(value))
    return when if when.tzinfo else when.replace(tzinfo=UTC)

"""`feed add`, `feed import` and `feed export` of the command line, with a progress bar.

The bar (tqdm: one small module with no dependencies of its own, that already knows when
its stream is not a terminal) goes to stderr and only when stderr is a terminal; the
result lines are printed either way, above the bar, so a pipe or a log gets plain lines.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.resources import Resources

Reason = Callable[[str, str], str]  # (reason key, detail) -> the words printed
OPML_ERRORS = {
    "too_large": "the file is larger than 1 MiB",
    "xml_tricks": "the file declares XML entities or external references, which are refused",
    "truncated": "the file is cut off (truncated XML)",
    "not_xml": "the file is not XML",
    "not_opml": "the file is not OPML",
    "too_many": "the file has more than 2,000 outlines",
    "no_feeds": "the file lists no feeds (no outline has an xmlUrl)",
}


@contextmanager
def progress(total: int, unit: str) -> Iterator[Callable[[], None]]:
    """A bar on a terminal's stderr for `total` steps (nothing otherwise); yields `step()`."""
    from tqdm import tqdm  # here: `feed list` and `items` need no bar

    # disable=None: on only when stderr is a terminal; one step needs no bar.
    bar = tqdm(total=total, unit=unit, file=sys.stderr, disable=None if total > 1 else True)
    try:
        yield lambda: bar.update(1)
    finally:
        bar.close()


def say(line: str, *, error: bool = False) -> None:
    """Print a result line above the bar (if there is one): stdout, or stderr for an error."""
    from tqdm import tqdm

    tqdm.write(line, file=sys.stderr if error else sys.stdout)


def opml_file(path: str) -> bytes:
    """An argparse type: the bytes of FILE (at most one byte over the limit are read)."""
    from feeds.opml import MAX_BYTES

    try:
        with Path(path).open("rb") as f:
            return f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot read {path}: {exc.strerror}") from None


async def feed_add(res: Resources, urls: list[str], lang: str | None, reason: Reason) -> int:
    """Add each URL in turn; 1 if any could not be added."""
    from bot.services.feed_admin import FeedAdminError

    failed = 0
    with progress(len(urls), "feed") as step:
        for url in urls:
            try:
                added = await res.feed_admin.add(url, lang)
            except FeedAdminError as exc:
                failed += 1
                say(f"error: {url}: {reason(exc.reason, exc.detail)}", error=True)
            else:
                say(f"added #{added.feed.id} {added.feed.title or url} ({added.items} items)")
            step()
    return 1 if failed else 0


async def feed_import(res: Resources, data: bytes, lang: str | None, reason: Reason) -> int:
    """Add every feed of an OPML file; 1 if the file is refused or any feed failed."""
    from bot.services.opml import OpmlError, import_outlines, read_opml

    try:
        outlines = read_opml(data)
    except OpmlError as exc:
        text = OPML_ERRORS.get(exc.reason, exc.reason)
        print(f"error: {text} ({exc.detail}); nothing was added", file=sys.stderr)
        return 1
    with progress(len(outlines), "feed") as step:
        report = await import_outlines(
            res.feed_admin, outlines, lang, on_done=lambda _outline: step()
        )
    for added in report.added:
        feed = added.feed
        say(f"added #{feed.id} {feed.title or feed.url} ({added.items} items)")
    for url in report.present:
        say(f"present: {url}: already added")
    for failure in report.failed:
        say(f"error: {failure.url}: {reason(failure.reason, failure.detail)}", error=True)
    counts = (len(report.added), len(report.present), len(report.failed))
    print("imported: {} added, {} already present, {} failed".format(*counts))
    return 0 if report.ok else 1


async def feed_export(res: Resources, output: str | None) -> int:
    """Write every feed as OPML 2.0 to `output`, or to stdout."""
    from bot.services.opml import export_feeds

    data, _count = await export_feeds(res.feed_admin)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    try:
        await asyncio.to_thread(Path(output).write_bytes, data)
    except OSError as exc:
        print(f"error: cannot write {output}: {exc.strerror}", file=sys.stderr)
        return 2
    return 0

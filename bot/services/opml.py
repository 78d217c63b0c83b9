"""Import and export of the feed list as OPML, for the CLI and the admin commands."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.services.errors import FeedAdminError
from bot.services.feed_admin import LANG_HINTS, AddedFeed, FeedAdmin
from bot.services.ingest import utcnow
from feeds.opml import MAX_BYTES, MAX_OUTLINES, OpmlError, Outline, read_opml, write_opml

__all__ = [
    "MAX_BYTES",
    "MAX_OUTLINES",
    "Failure",
    "ImportReport",
    "OpmlError",
    "Outline",
    "export_feeds",
    "import_outlines",
    "read_opml",
]

IMPORT_CONCURRENCY = 8  # feeds checked at once; the fetcher also keeps 4 per host
EXPORT_TITLE = "Habar feeds"


@dataclass(frozen=True, slots=True)
class Failure:
    """A feed of the file that was not added, with the reason key and a detail for humans."""

    url: str
    reason: str
    detail: str


@dataclass
class ImportReport:
    """What an import did, in the order of the file."""

    added: list[AddedFeed] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no feed failed (already present ones are fine)."""
        return not self.failed


async def import_outlines(
    admin: FeedAdmin,
    outlines: list[Outline],
    lang: str | None = None,
    *,
    on_done: Callable[[Outline], None] | None = None,
    concurrency: int = IMPORT_CONCURRENCY,
) -> ImportReport:
    """Check and add every outline as `feed add` does, `concurrency` at a time.

    An outline's own language (kk, ru, en) is its hint; `lang` is the hint of the others.
    """
    gate = asyncio.Semaphore(concurrency)

    async def one(outline: Outline) -> AddedFeed | FeedAdminError:
        hint = outline.lang if outline.lang in LANG_HINTS else lang
        async with gate:
            try:
                return await admin.add(outline.url, hint)
            except FeedAdminError as exc:
                return exc
            finally:
                if on_done is not None:
                    on_done(outline)

    results = await asyncio.gather(*(one(o) for o in outlines))
    report = ImportReport()
    for outline, result in zip(outlines, results, strict=True):
        if isinstance(result, AddedFeed):
            report.added.append(result)
        elif result.reason == "duplicate":
            report.present.append(outline.url)
        else:
            report.failed.append(Failure(outline.url, result.reason, result.detail))
    return report


async def export_feeds(admin: FeedAdmin) -> tuple[bytes, int]:
    """Every stored feed as an OPML 2.0 document, and how many feeds it lists."""
    feeds = [
        Outline(f.url, f.title or "", f.site_url or "", f.lang_hint or "")
        for f in await admin.list()
    ]
    return write_opml(feeds, title=EXPORT_TITLE, created=utcnow()), len(feeds)

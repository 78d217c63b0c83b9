"""OPML feed lists: read an uploaded file safely, write OPML 2.0 (values in, values out).

Uploaded bytes are parsed only by defusedxml, which refuses entity declarations (the
"billion laughs" expansion bomb and external entities alike) and external references;
the standard library's parser would expand them. Writing builds a tree of our own values,
which needs no such care.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from xml.etree import ElementTree as ET  # writing only: never parse uploaded bytes with it

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

MAX_BYTES = 1024 * 1024
MAX_OUTLINES = 2000
# expat's error codes that mean the document stopped early (pyexpat.errors).
_ENDED_EARLY = frozenset({3, 5, 6})  # no element found, unclosed token, partial character


class OpmlError(ValueError):
    """A file refused as a whole: `reason` is a stable key, `detail` says more."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Outline:
    """One feed of an OPML file: its address, and what the file says about it."""

    url: str
    title: str = ""
    html_url: str = ""
    lang: str = ""


def read_opml(data: bytes) -> list[Outline]:
    """The feeds of an OPML file, nested outlines flattened, first occurrence of a URL kept.

    Raises OpmlError (too_large, xml_tricks, truncated, not_xml, not_opml, too_many, no_feeds).
    """
    if len(data) > MAX_BYTES:
        raise OpmlError("too_large", f"{len(data)} bytes, at most {MAX_BYTES}")
    if not data.strip():
        raise OpmlError("not_xml", "the file is empty")
    try:
        root = fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise OpmlError("xml_tricks", type(exc).__name__) from None
    except ParseError as exc:
        reason = "truncated" if exc.code in _ENDED_EARLY else "not_xml"
        raise OpmlError(reason, str(exc)) from None
    body = root.find("body") if _local(root.tag) == "opml" else None
    if body is None:
        raise OpmlError("not_opml", f"the root element is <{_local(root.tag)}>")
    outlines = list(body.iter("outline"))
    if len(outlines) > MAX_OUTLINES:
        raise OpmlError("too_many", f"{len(outlines)} outlines, at most {MAX_OUTLINES}")
    feeds: dict[str, Outline] = {}
    for node in outlines:
        attrs = {k.lower(): v.strip() for k, v in node.attrib.items()}
        url = attrs.get("xmlurl", "")
        if url and url not in feeds:
            title = attrs.get("title") or attrs.get("text", "")
            lang = attrs.get("language", "").split("-")[0].split("_")[0].lower()
            feeds[url] = Outline(url, title, attrs.get("htmlurl", ""), lang)
    if not feeds:
        raise OpmlError("no_feeds", "no outline has an xmlUrl")
    return list(feeds.values())


def write_opml(feeds: Iterable[Outline], *, title: str, created: datetime) -> bytes:
    """An OPML 2.0 document listing `feeds` (UTF-8, indented)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(created)
    body = ET.SubElement(root, "body")
    for feed in feeds:
        name = feed.title or feed.url
        attrs = {"type": "rss", "text": name, "title": name, "xmlUrl": feed.url}
        if feed.html_url:
            attrs["htmlUrl"] = feed.html_url
        if feed.lang:
            attrs["language"] = feed.lang
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _local(tag: object) -> str:
    """A tag without its namespace ({uri}name -> name); comments have no string tag."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""

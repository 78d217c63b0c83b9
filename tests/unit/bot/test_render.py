"""The digest renderer: Telegram-valid HTML parts, grouped by topic, within Telegram's limits."""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest

from bot.services.render import (
    DigestItem,
    DigestText,
    escape,
    render_digest,
    telegram_measure,
)
from tests.support.tg_entities import auto_entities
from tests.support.tg_html import utf16_len

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)  # 17:00 in Almaty
TEXT = DigestText(header="Дайджест: жаңалықтар", other_heading="Басқа", continued="(продолжение)")
NAMES = {
    "politics": "Саясат",
    "economy": "Экономика",
    "sport": "Спорт",
    "tech": "Технологии",
    "culture": "Мәдениет",
}
ORDER = ("politics", "economy", "sport", "tech", "culture")
SAMPLE = (
    "Қазақстанда жаңа салық кодексі қабылданды, әкімдік түсініктеме берді; "
    "Правительство обсудило тарифы на электроэнергию и цены на топливо в регионах страны"
)
WORDS = SAMPLE.split()

# --- an independent check of what Telegram accepts, built on html.parser -----------------------

TAG = re.compile(r'<b>|</b>|<i>|</i>|<a href="[^"<>]*">|</a>')
KNOWN_REF = re.compile(r"&(?:lt|gt|amp|quot|#x27);")


@dataclass
class Parsed:
    """A message as Telegram shows it: its text, its entities and its links in order."""

    text: str
    entities: int
    links: list[tuple[str, str]] = field(default_factory=list)

    @property
    def units(self) -> int:
        return len(self.text.encode("utf-16-le")) // 2

    @property
    def blocks(self) -> list[list[str]]:
        return [block.split("\n") for block in self.text.split("\n\n")]


class TelegramHtml(HTMLParser):
    """Accepts only <a href>, <b> and <i>, properly nested, and collects the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.stack: list[tuple[str, str, int]] = []
        self.links: list[tuple[str, str]] = []
        self.link_spans: list[dict] = []  # where Telegram finds nothing by itself
        self.entities = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ("a", "b", "i"), f"tag Telegram rejects: {tag}"
        assert not self.stack, "nested entities change how Telegram counts them"
        href = dict(attrs).get("href") or ""
        assert [name for name, _ in attrs] == (["href"] if tag == "a" else [])
        if tag == "a":
            assert href.startswith(("http://", "https://")), href
        self.stack.append((tag, href, len("".join(self.chunks))))
        self.entities += 1

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1][0] == tag, f"unbalanced </{tag}>"
        _, href, start = self.stack.pop()
        inner = "".join(self.chunks)[start:]
        assert inner.strip(), "an empty entity is dropped by Telegram"
        if tag == "a":
            self.links.append((href, inner))
            offset = utf16_len("".join(self.chunks)[:start])
            self.link_spans.append(
                {"type": "text_link", "offset": offset, "length": utf16_len(inner)}
            )

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise AssertionError(f"self-closing <{tag}/>")

    def handle_comment(self, data: str) -> None:
        raise AssertionError("comment")

    def handle_decl(self, decl: str) -> None:
        raise AssertionError("declaration")


def parse(part: str) -> Parsed:
    """Validate one part independently of the renderer and return what Telegram would show."""
    bare = TAG.sub("", part)
    assert "<" not in bare and ">" not in bare, "unescaped < or > in text"
    assert bare.count("&") == len(KNOWN_REF.findall(bare)), "bare & in text"
    parser = TelegramHtml()
    parser.feed(part)
    parser.close()
    assert not parser.stack, "unclosed tag"
    text = "".join(parser.chunks)
    assert text == text.strip(" \n"), "leading or trailing blanks Telegram would trim"
    assert not re.search(r"[\x00-\x09\x0b-\x1f\r\u2028-\u202e]", text), "characters Telegram drops"
    # Telegram also adds the entities it finds in plain text (the fake's model of it).
    found = len(auto_entities(text, parser.link_spans))
    parsed = Parsed(text, parser.entities + found, parser.links)
    assert parsed.units <= 4096
    assert parsed.entities <= 100
    assert telegram_measure(part) == (parsed.units, parsed.entities)
    return parsed


# --- builders ------------------------------------------------------------------------------------


def make_item(
    i: int,
    topics: tuple[str, ...] = (),
    *,
    title: str | None = None,
    url: str | None = None,
    hours_ago: float | None = None,
    source: str = "Kazinform",
) -> DigestItem:
    return DigestItem(
        id=i,
        url=f"https://example.kz/news/{i}?utm=x&id={i}" if url is None else url,
        title=f"Жаңалық {i}" if title is None else title,
        source=source,
        published=NOW - timedelta(hours=i * 0.1 if hours_ago is None else hours_ago),
        topics=topics,
    )


def render(
    items: list[DigestItem], chosen: frozenset[str] | None = None, **kw: object
) -> list[str]:
    args: dict[str, object] = {
        "topic_order": ORDER,
        "chosen_topics": chosen,
        "topic_name": NAMES.__getitem__,
        "tz": ALMATY,
        "text": TEXT,
        "now": NOW,
    }
    args.update(kw)
    return render_digest(items, **args)  # type: ignore[arg-type]


def long_title(rng: random.Random, n_words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n_words))


def layout(parts: list[str]) -> list[tuple[str, bool, list[str]]]:
    """Every group of every part as (heading, is_continued, hrefs of its items), in order."""
    groups = []
    for n, part in enumerate(parts):
        parsed = parse(part)
        blocks = parsed.blocks
        if n == 0:
            assert blocks[0] == [TEXT.header]
            blocks = blocks[1:]
        hrefs = iter(href for href, _ in parsed.links)
        for lines in blocks:
            heading, continued = lines[0], lines[0].endswith(" " + TEXT.continued)
            heading = heading.removesuffix(" " + TEXT.continued)
            groups.append((heading, continued, [next(hrefs) for _ in lines[1:]]))
        assert next(hrefs, None) is None
    return groups


def expected_heading(item: DigestItem, chosen: frozenset[str] | None) -> str:
    for slug in ORDER:
        if slug in item.topics and (chosen is None or slug in chosen):
            return NAMES[slug]
    return TEXT.other_heading


def assert_grouped(parts: list[str], items: list[DigestItem], chosen: frozenset[str] | None):
    by_href = {item.url: item for item in items}
    groups = layout(parts)
    seen = [href for _, _, hrefs in groups for href in hrefs]
    assert sorted(seen) == sorted(by_href), "every item exactly once"
    merged: list[tuple[str, list[str]]] = []
    for heading, continued, hrefs in groups:
        if continued:
            assert merged and merged[-1][0] == heading, "continued heading follows its group"
            merged[-1][1].extend(hrefs)
        else:
            merged.append((heading, list(hrefs)))
    order = [*(NAMES[s] for s in ORDER), TEXT.other_heading]
    headings = [heading for heading, _ in merged]
    assert headings == sorted(headings, key=order.index), "groups in topic order, other last"
    assert len(set(headings)) == len(headings), "a group appears once"
    for heading, hrefs in merged:
        assert all(expected_heading(by_href[h], chosen) == heading for h in hrefs)
        times = [by_href[h].published for h in hrefs]
        assert times == sorted(times, reverse=True), "newest first"
    return groups


def assert_packed_tightly(parts: list[str]) -> None:
    """Each part but the last is full: the next part's first line would not have fitted."""
    for prev, nxt in itertools.pairwise(parts):
        a, b = parse(prev), parse(nxt)
        heading, first_line = b.text.split("\n")[:2]
        line_units = len(first_line.encode("utf-16-le")) // 2
        if heading.endswith(TEXT.continued):
            units, entities = a.units + 1 + line_units, a.entities + 1
        else:
            head_units = len(heading.encode("utf-16-le")) // 2
            units, entities = a.units + 2 + head_units + 1 + line_units, a.entities + 2
        assert units > 4096 or entities > 100


# --- tests ---------------------------------------------------------------------------------------


def test_sixty_items_split_into_valid_parts_with_every_item_once_in_its_group():
    rng = random.Random(7)
    items = [
        make_item(i, tuple(rng.sample(ORDER, rng.randint(0, 3))), title=long_title(rng, 30))
        for i in range(60)
    ]
    parts = render(items)
    assert len(parts) >= 3
    groups = assert_grouped(parts, items, None)
    assert any(continued for _, continued, _ in groups), "a group spans two parts"
    assert all(TEXT.header not in part for part in parts[1:]), "header on the first part only"
    assert_packed_tightly(parts)


def test_sixty_items_with_chosen_topics_group_only_under_chosen_ones():
    rng = random.Random(11)
    chosen = frozenset({"sport", "economy"})
    items = [
        make_item(
            i, (rng.choice(["sport", "economy"]), *rng.sample(ORDER, 2)), title=long_title(rng, 25)
        )
        for i in range(60)
    ]
    parts = render(items, chosen)
    groups = assert_grouped(parts, items, chosen)
    assert {heading for heading, _, _ in groups} == {"Экономика", "Спорт"}
    assert_packed_tightly(parts)


def test_many_short_items_are_split_by_the_entity_limit_not_the_length():
    items = [make_item(i, ("sport",)) for i in range(150)]
    parts = render(items)
    parsed = [parse(part) for part in parts]
    assert [p.entities for p in parsed] == [100, 53]  # header + heading + 98 links; heading + 52
    assert all(p.units < 3500 for p in parsed)  # room for many more lines of this length
    assert parsed[1].blocks[0][0] == "Спорт (продолжение)"
    assert_grouped(parts, items, None)


def test_a_part_fills_to_exactly_4096_units_and_one_unit_more_splits_it():
    items = [make_item(i, ("sport",), title="ә" * 280) for i in range(13)]
    used = parse(render(items)[0]).units
    room = 4096 - used - len("\n — Kazinform, 17:00")
    last = "😀" * 20 + "x" * (room - 40)  # the emoji take two units each
    [part] = render([*items, make_item(13, ("sport",), title=last)])
    assert parse(part).units == 4096
    parts = render([*items, make_item(13, ("sport",), title=last + "x")])
    assert [len(parse(p).links) for p in parts] == [13, 1]


def test_markup_in_titles_sources_and_urls_is_escaped_and_shown_verbatim():
    title = """<script>alert("x")</script> & 'quoted' &amp; <b>not bold</b>"""
    url = """https://example.kz/a?b=1&c="2"&d=<x>'y'"""
    item = make_item(1, ("tech",), title=title, url=url, source="R&D <News>")
    [part] = render([item])
    assert "<script" not in part and "<b>not" not in part
    parsed = parse(part)
    assert parsed.links == [(url, title)]
    assert f"{title} — R&D <News>, " in parsed.text
    assert parsed.entities == 3  # header, heading, link: nothing from the feed's markup


def test_escape_covers_text_and_attribute_values():
    assert escape("""<a href="x">&'""") == "&lt;a href=&quot;x&quot;&gt;&amp;&#x27;"
    assert telegram_measure(escape("""<a href="x">&'""")) == (14, 0)


def test_item_with_several_chosen_topics_appears_once_under_the_first_in_topic_order():
    item = make_item(1, ("culture", "economy", "politics", "sport"))
    chosen = frozenset({"economy", "culture", "sport"})
    [part] = render([item], chosen)
    parsed = parse(part)
    assert parsed.blocks[1:] == [["Экономика", parsed.blocks[1][1]]]
    assert [href for href, _ in parsed.links] == [item.url]


def test_groups_follow_topic_order_not_the_order_of_items_or_of_the_chosen_set():
    items = [
        make_item(1, ("culture",)),
        make_item(2, ("tech",)),
        make_item(3, ("politics",)),
        make_item(4, ("sport",)),
    ]
    chosen = frozenset({"culture", "tech", "politics"})
    [part] = render(items, chosen, topic_order=("tech", "culture", "sport", "politics"))
    headings = [block[0] for block in parse(part).blocks[1:]]
    assert headings == ["Технологии", "Мәдениет", "Саясат", "Басқа"]  # sport was not chosen


def test_items_without_a_shown_topic_go_under_the_other_heading_at_the_end():
    items = [
        make_item(1, (), hours_ago=1),
        make_item(2, ("politics",)),
        make_item(3, ("retired-topic",), hours_ago=0.5),
    ]
    [part] = render(items)
    blocks = parse(part).blocks
    assert [block[0] for block in blocks[1:]] == ["Саясат", "Басқа"]
    assert len(blocks[2]) == 3 and blocks[2][1].startswith("Жаңалық 3")  # newest first


def test_astral_characters_count_two_units_and_telegram_trims_blanks():
    assert telegram_measure("😀") == (2, 0)
    assert telegram_measure("<b>Қ😀</b>") == (3, 1)
    assert telegram_measure("&lt;b&gt; &amp;") == (5, 0)
    assert telegram_measure("\n \n<b>x</b> \n\n") == (1, 1)
    assert telegram_measure("<b> </b>x") == (1, 0)  # a blank entity is dropped
    assert telegram_measure("a\r\nb") == (3, 0)  # CR is dropped
    assert telegram_measure('<b>x <a href="https://a.kz">y</a> z</b>') == (5, 4)  # bold cut in 3


def test_telegram_measure_rejects_html_telegram_rejects():
    for bad in ("<p>x</p>", "<b>x", "x</b>", "<b>x</i>", "a < b", '<a href="x" y>z</a>'):
        with pytest.raises(ValueError):
            telegram_measure(bad)


def test_emoji_titles_are_packed_by_utf16_units_not_by_code_points():
    items = [make_item(i, ("culture",), title="🇰🇿😀🎉 " * 40) for i in range(40)]
    parts = render(items)
    assert len(parts) >= 4
    for part in parts:
        parsed = parse(part)
        assert len(parsed.text) < parsed.units  # code points would under-count
    assert_packed_tightly(parts)
    assert_grouped(parts, items, None)


def test_kazakh_and_russian_text_is_kept_intact():
    title = "Қазақстанда жаңа салық кодексі қабылданды: әкімдік түсініктеме берді (ұлттық үлгі)"
    item = make_item(1, ("economy",), title=title, source="Қазақпарат")
    [part] = render([item])
    parsed = parse(part)
    assert parsed.links[0][1] == title
    assert parsed.blocks[1][1].startswith(f"{title} — Қазақпарат, ")


def test_tzdata_in_use_knows_almaty_moved_to_utc_plus_5_in_2024():
    summer_2025 = datetime(2025, 6, 1, tzinfo=UTC).astimezone(ALMATY)
    summer_2023 = datetime(2023, 6, 1, tzinfo=UTC).astimezone(ALMATY)
    assert summer_2025.isoformat() == "2025-06-01T05:00:00+05:00"
    assert summer_2023.utcoffset() == timedelta(hours=6)


@pytest.mark.parametrize(
    ("published", "now", "shown"),
    [
        (datetime(2025, 6, 1, 7, 30, tzinfo=UTC), NOW, "12:30"),
        (datetime(2025, 5, 31, 20, 15, tzinfo=UTC), NOW, "01:15"),  # already June 1 in Almaty
        (datetime(2025, 5, 31, 18, 59, tzinfo=UTC), NOW, "31.05 23:59"),
        (
            datetime(2025, 6, 1, 18, 0, tzinfo=UTC),
            datetime(2025, 6, 1, 19, 30, tzinfo=UTC),
            "01.06 23:00",
        ),
        (datetime(2024, 12, 20, 9, 0, tzinfo=UTC), NOW, "20.12 14:00"),
        (datetime(2024, 1, 10, 6, 0, tzinfo=UTC), NOW, "10.01.2024 12:00"),  # UTC+6 back then
    ],
)
def test_item_time_is_local_to_almaty_with_date_and_year_only_when_needed(published, now, shown):
    item = DigestItem(1, "https://example.kz/1", "Жаңалық", "Tengrinews", published, ())
    [part] = render([item], now=now)
    assert parse(part).blocks[1][1] == f"Жаңалық — Tengrinews, {shown}"


def test_long_title_is_cut_at_a_word_boundary_with_an_ellipsis():
    rng = random.Random(3)
    title = long_title(rng, 80)
    [part] = render([make_item(1, ("sport",), title=title)])
    shown = parse(part).links[0][1]
    assert len(title) > 400 and len(shown) <= 300
    assert shown.endswith("…")
    kept = shown.removesuffix("…")
    assert title.startswith(kept) and title[len(kept)] in " ,;:"
    assert len(kept) > 200


@pytest.mark.parametrize(
    "url",
    [
        "",
        "javascript:alert(1)",
        "ftp://example.kz/f",
        "//example.kz/x",
        "tg://user?id=1",
        "http://",
        "https://example.kz/a b",
        "data:text/html,<b>x</b>",
    ],
)
def test_item_without_an_http_url_shows_its_title_as_plain_text(url):
    item = make_item(1, ("tech",), url=url, title="Без ссылки & <тег>")
    [part] = render([item])
    parsed = parse(part)
    assert parsed.links == []
    assert parsed.entities == 2  # header and heading only
    assert parsed.blocks[1][1].startswith("Без ссылки & <тег> — Kazinform")


def test_control_characters_and_line_breaks_in_feed_text_keep_one_item_per_line():
    item = make_item(
        1, ("tech",), title="Бірінші\nжол\r\n\tекінші\x00 \u2028үшінші", source="A\nB"
    )
    [part] = render([item])
    parsed = parse(part)
    assert parsed.blocks[1][1].startswith("Бірінші жол екінші үшінші — A B, ")


def test_heading_that_telegram_could_autolink_is_not_bold():
    names = {**NAMES, "tech": "Tech.kz @news"}
    [part] = render([make_item(1, ("tech",))], topic_name=names.__getitem__)
    parsed = parse(part)
    assert parsed.blocks[1][0] == "Tech.kz @news"
    assert parsed.entities == 4  # header, link, and Telegram's own tech.kz and @news: no bold


def test_empty_digest_renders_no_messages():
    assert render([]) == []


def test_output_does_not_depend_on_input_order_or_duplicates():
    rng = random.Random(5)
    items = [make_item(i, tuple(rng.sample(ORDER, 2)), hours_ago=float(i // 3)) for i in range(90)]
    shuffled = items[:]
    rng.shuffle(shuffled)
    assert render(shuffled + shuffled[:10]) == render(items)


def test_a_thousand_item_digest_renders_into_many_valid_parts():
    rng = random.Random(13)
    items = [
        make_item(i, tuple(rng.sample(ORDER, rng.randint(0, 2))), title=long_title(rng, 12))
        for i in range(1000)
    ]
    parts = render(items)
    assert len(parts) >= 15
    assert_grouped(parts, items, None)
    assert_packed_tightly(parts)


def test_the_more_line_ends_the_digest_and_opens_a_message_when_the_last_is_full():
    footer = "152 more items matched your filters: /digest sends the next ones."
    [short] = render([make_item(1, ("sport",))], footer=footer)
    assert short.endswith("\n\n" + footer)
    full = [make_item(i, ("sport",)) for i in range(98)]  # header + heading + 98 links = 100
    parts = render(full, footer=footer)
    assert [parse(p).entities for p in parts] == [100, 1]  # the footer's /digest is one
    assert parts[-1] == footer  # its /digest would be entity 101 in the first message

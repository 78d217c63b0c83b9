"""item_key: one article keeps one key across polls and feeds; different articles never share."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from feeds.identity import item_key

WHEN = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
FEED_A = "https://tengrinews.kz/rss/all.xml"
FEED_B = "https://www.inform.kz/rss/ru.xml"
KEY = re.compile(r"[ugtf]:[0-9a-f]{32}")


def key(**overrides: object) -> str:
    fields: dict[str, object] = {
        "guid": None,
        "url": "",
        "title": "Токаев подписал закон о бюджете",
        "published": WHEN,
        "feed_url": FEED_A,
    }
    fields.update(overrides)
    return item_key(**fields)  # type: ignore[arg-type]


def test_same_url_guid_in_two_feeds_gives_one_key() -> None:
    guid = "https://tengrinews.kz/kazakhstan_news/zakon-o-byudjete-550000/"
    assert key(guid=guid, feed_url=FEED_A) == key(guid=guid, feed_url=FEED_B, title="Другое")


def test_url_guid_matches_the_same_link_given_without_guid_in_another_feed() -> None:
    by_guid = key(guid="https://Tengrinews.kz/kazakhstan_news/x/?utm_source=rss", feed_url=FEED_A)
    by_link = key(url="https://tengrinews.kz/kazakhstan_news/x/", feed_url=FEED_B)
    assert by_guid == by_link


def test_same_non_url_guid_in_two_feeds_gives_different_keys() -> None:
    assert key(guid="12345", feed_url=FEED_A) != key(guid="12345", feed_url=FEED_B)


def test_non_url_guid_is_stable_across_polls_even_when_title_and_link_change() -> None:
    first = key(guid="tag:zakon.kz,2025:7001", url="https://zakon.kz/a", title="Черновик")
    later = key(guid=" tag:zakon.kz,2025:7001 ", url="https://zakon.kz/b", title="Итог")
    assert first == later


def test_non_url_guid_keys_ignore_tracking_junk_on_the_feed_url() -> None:
    assert key(guid="42", feed_url=FEED_A) == key(guid="42", feed_url=FEED_A + "?utm_source=x")


def test_same_link_with_tracking_params_gives_one_key() -> None:
    plain = key(url="https://www.zakon.kz/6430000-x.html")
    tracked = key(url="https://www.zakon.kz/6430000-x.html?utm_source=rss&utm_medium=feed#top")
    assert plain == tracked


def test_relative_link_is_resolved_against_the_feed() -> None:
    assert key(url="/news/1", feed_url="https://24.kz/rss") == key(url="https://24.kz/news/1")


def test_different_links_give_different_keys() -> None:
    assert key(url="https://24.kz/news/1") != key(url="https://24.kz/news/2")


def test_http_and_https_links_stay_different_items() -> None:
    assert key(url="http://24.kz/news/1") != key(url="https://24.kz/news/1")


def test_unusable_guid_and_link_fall_back_to_title_and_date() -> None:
    assert key(guid="https://", url="javascript:void(0)") == key()


def test_title_and_date_key_is_stable_across_calls_and_feeds() -> None:
    assert key() == key()
    assert key(feed_url=FEED_A) == key(feed_url=FEED_B)


def test_title_and_date_key_ignores_markup_case_and_timezone() -> None:
    almaty = timezone(timedelta(hours=5))
    noisy = key(
        title="<b>ТОКАЕВ</b> подписал&nbsp;закон о бюджете", published=WHEN.astimezone(almaty)
    )
    assert noisy == key()


def test_title_and_date_key_changes_with_the_date_or_the_title() -> None:
    assert key(published=WHEN + timedelta(days=1)) != key()
    assert key(title="Токаев подписал указ") != key()


def test_naive_date_is_taken_as_utc_not_local_time() -> None:
    assert key(published=WHEN.replace(tzinfo=None)) == key()


def test_dateless_title_key_is_scoped_to_the_feed() -> None:
    assert key(published=None) == key(published=None)
    assert key(published=None, feed_url=FEED_A) != key(published=None, feed_url=FEED_B)
    assert key(published=None) != key()


@given(
    guid=st.one_of(st.none(), st.text()),
    url=st.text(),
    title=st.text(),
    published=st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))),
    feed_url=st.text(),
)
def test_item_key_is_a_short_index_friendly_string_for_any_input(
    guid: str | None, url: str, title: str, published: datetime | None, feed_url: str
) -> None:
    result = item_key(guid=guid, url=url, title=title, published=published, feed_url=feed_url)
    assert KEY.fullmatch(result)
    assert result == item_key(
        guid=guid, url=url, title=title, published=published, feed_url=feed_url
    )

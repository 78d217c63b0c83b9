"""Fetcher and check_url against a real HTTP server on 127.0.0.1 (FeedServer)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from feeds.fetch import Fetcher, FetchLimits, make_session
from feeds.models import FetchError, FetchErrorKind
from feeds.netpolicy import check_url
from feeds.parse import parse_feed
from tests.support.feed_server import FeedServer, rss

NEWS = [
    {
        "title": "Астанада жаңа мектеп ашылды",
        "link": "https://kaz.example.kz/bilim/1",
        "guid": "kaz-1",
        "description": "<p>Жаңа оқу ордасы заманауи зертханалармен жабдықталған.</p>",
        "pubDate": datetime(2024, 9, 1, 5, 0, tzinfo=UTC),
    },
    {
        "title": "Токаев подписал закон о развитии АПК",
        "link": "https://news.example.kz/ru/2",
        "guid": "ru-2",
        "description": "Глава государства подписал закон.",
        "pubDate": datetime(2024, 3, 14, 4, 15, tzinfo=UTC),
    },
]
FEED = rss(NEWS, title="Жаңалықтар", language="kk")


@pytest.fixture
async def srv() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        yield server


async def _fetcher_run(url: str, limits: FetchLimits | None = None, *, allow_private=True, **kw):
    limits = limits or FetchLimits()
    async with make_session(limits, allow_private=allow_private) as session:
        return await Fetcher(session, limits).fetch(url, **kw)


async def _fetch_error(url: str, limits: FetchLimits | None = None, **kw) -> FetchError:
    with pytest.raises(FetchError) as caught:
        await _fetcher_run(url, limits, **kw)
    return caught.value


# --- success, validators, conditional GET ---------------------------------------------------


async def test_fetch_returns_body_validators_and_lowercase_headers(srv):
    url = srv.add("/feed.xml", FEED, last_modified="Sun, 01 Sep 2024 05:00:00 GMT")
    result = await _fetcher_run(url)
    assert (result.not_modified, result.body, result.final_url) == (False, FEED, url)
    assert result.etag is not None and result.etag.startswith('"')
    assert result.last_modified == "Sun, 01 Sep 2024 05:00:00 GMT"
    assert result.headers["content-type"] == "application/rss+xml; charset=utf-8"


async def test_second_fetch_with_etag_gets_304_and_no_body(srv):
    url = srv.add("/feed.xml", FEED)
    first = await _fetcher_run(url)
    second = await _fetcher_run(url, etag=first.etag)
    assert srv.last_headers["/feed.xml"]["If-None-Match"] == first.etag
    assert [hit.status for hit in srv.log] == [200, 304]
    assert (second.not_modified, second.body, second.etag) == (True, b"", first.etag)


async def test_second_fetch_with_last_modified_gets_304_and_no_body(srv):
    stamp = datetime(2024, 3, 14, 9, 0, tzinfo=UTC)
    url = srv.add("/feed.xml", FEED, etag=None, last_modified=stamp)
    first = await _fetcher_run(url)
    second = await _fetcher_run(url, last_modified=first.last_modified)
    assert first.etag is None
    assert srv.last_headers["/feed.xml"]["If-Modified-Since"] == "Thu, 14 Mar 2024 09:00:00 GMT"
    assert [hit.status for hit in srv.log] == [200, 304]
    assert (second.not_modified, second.body) == (True, b"")
    assert second.last_modified == first.last_modified


async def test_changed_feed_is_fetched_again_despite_an_old_etag(srv):
    url = srv.add("/feed.xml", FEED)
    first = await _fetcher_run(url)
    srv.add("/feed.xml", rss(NEWS[:1]))
    second = await _fetcher_run(url, etag=first.etag)
    assert (second.not_modified, second.body) == (False, rss(NEWS[:1]))
    assert second.etag != first.etag


async def test_user_agent_names_habar(srv):
    await _fetcher_run(srv.add("/feed.xml", FEED))
    assert srv.last_headers["/feed.xml"]["User-Agent"].startswith("Habar/")


async def test_gzip_body_arrives_decompressed():
    async with FeedServer(gzip=True) as srv:
        result = await _fetcher_run(srv.add("/feed.xml", FEED))
    assert srv.log[-1].gzip is True
    assert result.body == FEED


# --- redirects ------------------------------------------------------------------------------


async def test_five_redirects_are_followed_to_the_feed(srv):
    srv.add("/feed.xml", FEED)
    result = await _fetcher_run(srv.redirect_chain("/r", 5, "/feed.xml"))
    assert result.body == FEED
    assert result.final_url == srv.url("/feed.xml")


async def test_six_redirects_fail_with_too_many_redirects(srv):
    srv.add("/feed.xml", FEED)
    error = await _fetch_error(srv.redirect_chain("/r", 6, "/feed.xml"))
    assert error.kind is FetchErrorKind.TOO_MANY_REDIRECTS
    assert srv.hits["/feed.xml"] == 0


async def test_redirect_to_a_non_http_scheme_is_a_bad_url(srv):
    srv.redirect("/feed.xml", "ftp://files.example.kz/feed.xml", status=302)
    assert (await _fetch_error(srv.url("/feed.xml"))).kind is FetchErrorKind.BAD_URL


# --- limits ---------------------------------------------------------------------------------


async def test_server_slow_to_answer_times_out(srv):
    url = srv.slow("/feed.xml", 30.0, FEED)
    error = await _fetch_error(url, FetchLimits(read_timeout=0.2, total_timeout=5.0))
    assert error.kind is FetchErrorKind.TIMEOUT


async def test_body_claiming_one_gigabyte_is_refused_without_reading_it():
    async with FeedServer() as srv:
        error = await _fetch_error(srv.huge("/feed.xml", 1 << 30))
    assert error.kind is FetchErrorKind.TOO_LARGE
    assert "Content-Length" in error.detail
    assert srv.sent["/feed.xml"] < 64 << 20  # socket buffers at most, not the gigabyte


async def test_unannounced_gigabyte_body_is_cut_at_the_cap():
    async with FeedServer() as srv:
        url = srv.huge("/feed.xml", 1 << 30, claim_length=False)
        error = await _fetch_error(url, FetchLimits(max_bytes=1 << 20))
    assert error.kind is FetchErrorKind.TOO_LARGE
    assert srv.sent["/feed.xml"] < 64 << 20


async def test_endless_body_is_cut_at_the_cap():
    async with FeedServer() as srv:
        error = await _fetch_error(srv.endless("/feed.xml"), FetchLimits(max_bytes=256 << 10))
    assert error.kind is FetchErrorKind.TOO_LARGE
    assert srv.sent["/feed.xml"] < 64 << 20


async def test_body_within_the_cap_is_read_whole(srv):
    result = await _fetcher_run(srv.huge("/feed.xml", 300_000, claim_length=False))
    assert len(result.body) == 300_000


# --- HTTP and network failures --------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 410, 500, 503])
async def test_error_status_is_http_status_with_the_code(srv, status):
    url = srv.add("/feed.xml", b"nope", status=status, content_type="text/plain")
    error = await _fetch_error(url)
    assert (error.kind, error.status) == (FetchErrorKind.HTTP_STATUS, status)


async def test_port_with_nothing_listening_is_refused():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = await _fetch_error(f"http://127.0.0.1:{port}/feed.xml")
    assert error.kind is FetchErrorKind.REFUSED


@pytest.mark.parametrize("allow_private", [True, False])
async def test_unresolvable_name_is_a_dns_error(allow_private):
    error = await _fetch_error("http://habar-test.invalid/feed.xml", allow_private=allow_private)
    assert error.kind is FetchErrorKind.DNS


@pytest.mark.parametrize("url", ["ftp://example.kz/feed.xml", "http:///feed.xml", "feed.xml"])
async def test_non_http_or_hostless_url_is_a_bad_url(url):
    assert (await _fetch_error(url)).kind is FetchErrorKind.BAD_URL


# --- private addresses ----------------------------------------------------------------------


async def test_loopback_ip_url_is_refused_when_private_feeds_are_off(srv):
    url = srv.add("/feed.xml", FEED)
    error = await _fetch_error(url, allow_private=False)
    assert error.kind is FetchErrorKind.PRIVATE_ADDRESS
    assert srv.hits["/feed.xml"] == 0


async def test_name_resolving_to_loopback_is_refused_when_private_feeds_are_off(srv):
    srv.add("/feed.xml", FEED)
    error = await _fetch_error(f"http://localhost:{srv.port}/feed.xml", allow_private=False)
    assert error.kind is FetchErrorKind.PRIVATE_ADDRESS
    assert srv.hits["/feed.xml"] == 0


async def test_legacy_numeric_loopback_is_refused_and_never_fetched(srv):
    srv.add("/feed.xml", FEED)
    error = await _fetch_error(f"http://2130706433:{srv.port}/feed.xml", allow_private=False)
    # aiohttp 3.14.1 and later reject a non-canonical IPv4 host as an invalid URL; earlier ones
    # resolve it to 127.0.0.1, which the resolver refuses as private.
    assert error.kind in (FetchErrorKind.BAD_URL, FetchErrorKind.PRIVATE_ADDRESS)
    assert srv.hits["/feed.xml"] == 0


async def test_loopback_feed_is_fetched_when_private_feeds_are_allowed(srv):
    result = await _fetcher_run(srv.add("/feed.xml", FEED), allow_private=True)
    assert result.body == FEED


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("ftp://example.kz/rss", FetchErrorKind.BAD_URL),
        ("https://", FetchErrorKind.BAD_URL),
        ("http://2130706433/rss", FetchErrorKind.BAD_URL),
        ("http://habar-test.invalid/rss", FetchErrorKind.DNS),
        ("http://127.0.0.1:8080/rss", FetchErrorKind.PRIVATE_ADDRESS),
        ("http://[::1]/rss", FetchErrorKind.PRIVATE_ADDRESS),
        ("http://169.254.169.254/latest/meta-data", FetchErrorKind.PRIVATE_ADDRESS),
        ("http://localhost/rss", FetchErrorKind.PRIVATE_ADDRESS),
    ],
)
async def test_check_url_gives_the_reason_before_any_fetch(url, kind):
    with pytest.raises(FetchError) as caught:
        await check_url(url, allow_private=False)
    assert caught.value.kind is kind


async def test_check_url_accepts_private_hosts_when_allowed():
    await check_url("http://localhost/rss", allow_private=True)
    await check_url("http://10.1.2.3/rss", allow_private=True)
    with pytest.raises(FetchError) as caught:
        await check_url("http://habar-test.invalid/rss", allow_private=True)
    assert caught.value.kind is FetchErrorKind.DNS


# --- fetch, then parse ----------------------------------------------------------------------


async def test_html_page_behind_a_feed_url_is_not_a_feed(srv):
    page = "<!DOCTYPE html><html><head><title>Главная</title></head><body></body></html>".encode()
    result = await _fetcher_run(srv.add("/rss", page, content_type="text/html; charset=utf-8"))
    with pytest.raises(FetchError) as caught:
        parse_feed(result.body, result.headers, result.final_url)
    assert caught.value.kind is FetchErrorKind.NOT_A_FEED


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("rss_ru_windows1251.xml", "text/xml"), ("rss_ru_koi8r.xml", "application/rss+xml")],
)
async def test_cyrillic_8bit_feeds_arrive_as_russian(srv, name, content_type):
    result = await _fetcher_run(srv.add_file("/rss", name, content_type=content_type))
    feed = parse_feed(result.body, result.headers, result.final_url)
    assert feed.entries[0].title == "Токаев подписал закон о развитии агропромышленного комплекса"
    assert feed.language == "ru"


async def test_fetched_feed_parses_into_entries(srv):
    result = await _fetcher_run(srv.add("/rss", FEED))
    feed = parse_feed(result.body, result.headers, result.final_url)
    assert (feed.title, feed.language) == ("Жаңалықтар", "kk")
    assert [(e.guid, e.title) for e in feed.entries] == [(n["guid"], n["title"]) for n in NEWS]
    assert feed.entries[0].published == datetime(2024, 9, 1, 5, 0, tzinfo=UTC)

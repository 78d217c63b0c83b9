"""`feed import` and `feed export` as an operator runs them, and the progress bar on a terminal."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import struct
import sys
import termios
from pathlib import Path

from defusedxml.ElementTree import fromstring

from tests.integration.test_cli import UNIONS_KK, habar
from tests.support.feed_server import FeedServer, rss


def opml_text(*urls: str, languages: dict[str, str] | None = None) -> str:
    """An OPML file listing `urls`, nested in a folder."""
    languages = languages or {}
    rows = "".join(
        f'<outline type="rss" text="t" xmlUrl="{u}"'
        + (f' language="{languages[u]}"' if u in languages else "")
        + "/>"
        for u in urls
    )
    return f'<opml version="2.0"><head/><body><outline text="News">{rows}</outline></body></opml>'


def opml_file(path: Path, *urls: str, languages: dict[str, str] | None = None) -> str:
    """Write an OPML file listing `urls` (nested in a folder); returns its path."""
    path.write_text(opml_text(*urls, languages=languages))
    return str(path)


async def test_import_adds_the_feeds_and_export_writes_them_back(
    feed_server: FeedServer, env: dict[str, str], tmp_path: Path
) -> None:
    kk = feed_server.add("/kk.xml", rss([UNIONS_KK], title="Kasipodak", link="https://kp.kz/"))
    ru = feed_server.add("/ru.xml", rss([], title="Новости"))
    en = feed_server.add("/en.xml", rss([], title="News"))
    path = opml_file(tmp_path / "in.opml", kk, ru, en, languages={ru: "ru-RU"})

    code, out, err = await habar(env, "feed", "import", path, "--lang", "kk")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert sorted(line.split(" ", 2)[2] for line in lines[:3]) == [
        "Kasipodak (1 items)",
        "News (0 items)",
        "Новости (0 items)",
    ]
    assert lines[3] == "imported: 3 added, 0 already present, 0 failed"
    assert "\r" not in out + err  # no bar when the output is not a terminal

    code, out, _ = await habar(env, "feed", "export")
    assert code == 0
    outlines = {o.get("xmlUrl"): o.attrib for o in fromstring(out.encode()).iter("outline")}
    assert outlines[kk] == {
        "type": "rss",
        "text": "Kasipodak",
        "title": "Kasipodak",
        "xmlUrl": kk,
        "htmlUrl": "https://kp.kz/",
        "language": "kk",  # from --lang
    }
    assert outlines[ru]["language"] == "ru"  # the file's own language wins over --lang
    assert outlines[en]["language"] == "kk"

    target = tmp_path / "out.opml"
    code, out, _ = await habar(env, "feed", "export", "-o", str(target))
    assert (code, out) == (0, "")
    assert fromstring(target.read_bytes()).get("version") == "2.0"


async def test_import_exits_1_with_reasons_and_counts_present_feeds_as_fine(
    feed_server: FeedServer, env: dict[str, str], tmp_path: Path
) -> None:
    good = feed_server.add("/kk.xml", rss([UNIONS_KK]))
    page = feed_server.add("/page", b"<html><body>Hi</body></html>", content_type="text/html")
    assert (await habar(env, "feed", "add", good))[0] == 0

    code, out, _ = await habar(env, "feed", "import", opml_file(tmp_path / "a.opml", good))
    assert (code, out.splitlines()) == (
        0,
        [f"present: {good}: already added", "imported: 0 added, 1 already present, 0 failed"],
    )
    code, out, err = await habar(env, "feed", "import", opml_file(tmp_path / "b.opml", page))
    assert code == 1
    assert err.strip() == f"error: {page}: not an RSS/Atom feed (an HTML page)"
    assert out.splitlines()[-1] == "imported: 0 added, 0 already present, 1 failed"


async def test_refused_files_and_bad_arguments_change_nothing(
    feed_server: FeedServer, env: dict[str, str], tmp_path: Path
) -> None:
    url = feed_server.add("/kk.xml", rss([UNIONS_KK]))
    bomb = tmp_path / "bomb.opml"
    bomb.write_text(
        '<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        f'<opml version="2.0"><body><outline text="&b;" xmlUrl="{url}"/></body></opml>'
    )
    code, _, err = await habar(env, "feed", "import", str(bomb))
    assert code == 1
    assert "declares XML entities" in err and "nothing was added" in err
    cut = tmp_path / "cut.opml"
    cut.write_text(opml_text(url)[:60])
    code, _, err = await habar(env, "feed", "import", str(cut))
    assert code == 1 and "truncated" in err

    code, _, err = await habar(env, "feed", "import", str(tmp_path / "missing.opml"))
    assert code == 2 and "cannot read" in err
    path = opml_file(tmp_path / "ok.opml", url)
    code, _, err = await habar(env, "feed", "import", path, "--lang", "de")
    assert code == 2
    code, _, err = await habar(env, "feed", "export", "-o", str(tmp_path / "no" / "dir.opml"))
    assert code == 2 and "cannot write" in err
    assert feed_server.hits["/kk.xml"] == 0
    code, out, _ = await habar(env, "feed", "list")
    assert (code, out) == (0, "")


async def on_terminal(environ: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run `python -m bot` with stderr on a pseudo-terminal; (exit code, stdout, terminal)."""
    leader, follower = pty.openpty()
    # A terminal has a size (tqdm draws nothing in 0 columns): 24 rows of 100 columns.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=environ,
        stdout=asyncio.subprocess.PIPE,
        stderr=follower,
    )
    os.close(follower)
    screen = asyncio.create_task(asyncio.to_thread(_read_all, leader))
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    text = (await screen).decode(errors="replace")
    os.close(leader)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), text


def _read_all(fd: int) -> bytes:
    """What the terminal shows until its other end is closed (read as it comes)."""
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child has exited and closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


async def test_a_terminal_gets_a_progress_bar_for_import_add_and_poll(
    feed_server: FeedServer, env: dict[str, str], tmp_path: Path
) -> None:
    urls = [feed_server.add(f"/{n}.xml", rss([], title=f"F{n}")) for n in range(3)]
    code, out, screen = await on_terminal(
        env, "feed", "import", opml_file(tmp_path / "a.opml", *urls[:2])
    )
    assert code == 0 and "2/2" in screen and "100%" in screen
    assert out.splitlines()[-1] == "imported: 2 added, 0 already present, 0 failed"

    code, out, screen = await on_terminal(env, "feed", "add", urls[2], f"{urls[2]}?x=1")
    assert code == 0 and "2/2" in screen
    assert len(out.splitlines()) == 2

    code, out, screen = await on_terminal(env, "poll", "--once")
    assert code == 0 and "4/4" in screen
    assert len(out.splitlines()) == 4

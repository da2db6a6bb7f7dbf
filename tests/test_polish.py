"""The desk's small pure helpers: message text made into safe links (hostile input
included), avatars' initials and colours (stable, and readable: white on each colour
passes WCAG AA), and the talk list's preview line."""

from __future__ import annotations

import re
import zlib

import msgspec
import pytest

from app.desk.links import linkify
from app.desk.render import AVATAR_COLORS, avatar_color, environment, initials
from app.desk.talk_views import PREVIEW_CHARS, preview
from app.domain.resources import TalkMessageOut

pytestmark = pytest.mark.pure

REL = 'rel="noopener nofollow noreferrer" target="_blank"'


def link(href: str, text: str | None = None) -> str:
    return f'<a href="{href}" {REL}>{text if text is not None else href}</a>'


# --- links ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("see https://example.com", "see " + link("https://example.com")),
        ("HTTP://EXAMPLE.COM/x", link("HTTP://EXAMPLE.COM/x")),
        (
            "go to www.example.com/a?b=1",
            "go to " + link("https://www.example.com/a?b=1", "www.example.com/a?b=1"),
        ),
        # sentence punctuation after an address is not part of it
        ("Read https://example.com/a.", "Read " + link("https://example.com/a") + "."),
        ("https://example.com/a, then", link("https://example.com/a") + ", then"),
        ("(see https://example.com/a)", "(see " + link("https://example.com/a") + ")"),
        ("is it https://example.com/?!", "is it " + link("https://example.com/") + "?!"),
        ("“https://example.com/q”", "“" + link("https://example.com/q") + "”"),
        # ...but balanced brackets inside one are
        (
            "https://en.wikipedia.org/wiki/Mercury_(planet)",
            link("https://en.wikipedia.org/wiki/Mercury_(planet)"),
        ),
        # an ampersand is escaped once, in the href and in the text
        ("https://x.example/?a=1&b=2", link("https://x.example/?a=1&amp;b=2")),
        # two on one line, and on several lines (the newlines stay: the bubble keeps them)
        (
            "a http://a.example b https://b.example\nc www.c.example",
            "a "
            + link("http://a.example")
            + " b "
            + link("https://b.example")
            + "\nc "
            + link("https://www.c.example", "www.c.example"),
        ),
        ("https://例え.jp/パス", link("https://例え.jp/パス")),
    ],
)
def test_addresses_become_links(text, html):
    assert str(linkify(text)) == html


@pytest.mark.parametrize(
    "text",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(document.cookie)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
        "https://",
        "http:// example.com",
        "www.",
        "mail me at sam@www.example.com",
        "a.www.example.com",
        "ftp://example.com/file",
        "file:///etc/passwd",
        "javascript:http://example.com",
        "//example.com/path",
        "",
    ],
)
def test_nothing_else_becomes_a_link(text):
    out = str(linkify(text))
    assert "<a" not in out
    assert out == str(linkify(text).__html__())  # Markup, and only escaped text
    assert out == text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
        '"', "&#34;"
    ).replace("'", "&#39;")


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script> https://x.example/<script>",
        'https://x.example/"onmouseover="alert(1)',
        "https://x.example/'onmouseover='alert(1)",
        "https://x.example/`x`",
        '<a href="javascript:alert(1)">https://ok.example</a>',
        "https://x.example/&lt;b&gt;",
        "https://x.example/\x00\x1b[31m",
        "<img src=x onerror=alert(1)>www.x.example",
        "https://x.example/a<b>c</b>",
    ],
)
def test_hostile_text_stays_text(text):
    out = str(linkify(text))
    # no element but our links, every link safe: http(s) href, our rel and target
    tags = re.findall(r"<[^>]*>", out)
    for tag in tags:
        assert tag == "</a>" or re.fullmatch(
            r'<a href="https?://[^"<>\s]+" rel="noopener nofollow noreferrer" target="_blank">',
            tag,
        ), tag
    assert "<script" not in out and "<img" not in out and "<b>" not in out
    assert 'href="javascript' not in out.lower()
    # nothing of the text is lost or decoded: removing our tags and unescaping gives it back
    plain = re.sub(r"<[^>]*>", "", out)
    unescaped = (
        plain.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#34;", '"')
        .replace("&#39;", "'")
        .replace("&amp;", "&")
    )
    assert unescaped == text


def test_a_huge_text_is_escaped_and_not_scanned():
    text = "<b>" + "https://x.example " * 20_000
    out = str(linkify(text))
    assert out.startswith("&lt;b&gt;https://x.example") and "<a" not in out


def test_the_filter_is_what_templates_use():
    rendered = environment.from_string("{{ t | linkify }}").render(t="<i>hi</i> https://a.example")
    assert rendered == "&lt;i&gt;hi&lt;/i&gt; " + link("https://a.example")


# --- avatars ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "letters"),
    [
        ("Mina Kim", "MK"),
        ("sam", "S"),
        ("  ana   maria  de souza ", "AS"),
        ("dana.scully@example.com", "DS"),
        ("o'brien", "O"),
        ("(Sam) Lee", "SL"),
        ("김민아", "김"),
        ("+1 555 0100", ""),
        ("", ""),
        (None, ""),
        ("🙂 !!", ""),
        ("@", ""),
    ],
)
def test_initials(name, letters):
    assert initials(name) == letters


def _luminance(colour: str) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def test_every_avatar_colour_carries_white_initials_at_aa_contrast():
    assert len(set(AVATAR_COLORS)) == len(AVATAR_COLORS) >= 8
    for colour in AVATAR_COLORS:
        assert (1.05) / (_luminance(colour) + 0.05) >= 4.5, colour


def test_a_persons_colour_is_stable_and_people_spread_over_the_palette():
    assert avatar_color("agent-1") == avatar_color("agent-1")
    # CRC-32, not hash() (salted per process): the same in every process
    assert (
        avatar_color("+15559876543")
        == AVATAR_COLORS[zlib.crc32(b"+15559876543") % len(AVATAR_COLORS)]
    )
    used = {avatar_color(f"person-{i}") for i in range(200)}
    assert used == set(AVATAR_COLORS)
    assert avatar_color(None) == avatar_color("")


def test_an_avatar_without_letters_shows_a_person():
    html = environment.from_string("{{ avatar(k, n) }}").render(k="+15550100", n="+1 555 0100")
    assert 'class="avatar-person"' in html and re.sub(r"<[^>]*>", "", html) == ""


def test_the_avatar_macro_escapes_and_hides_itself():
    html = environment.from_string("{{ avatar(k, n) }}").render(k='x"><script>', n="<Eve> Q")
    assert "<script>" not in html and "&lt;" not in html  # the letters only: "EQ"
    assert 'aria-hidden="true"' in html and ">EQ<" in html
    key = 'x"><script>'
    assert f"--av: {avatar_color(key)}" in html
    named = environment.from_string('{{ avatar(k, n, "sm", title=t) }}').render(
        k="a1", n="Ann", t='Ann <b>"x"</b>'
    )
    assert 'role="img"' in named and "<b>" not in named and "&lt;b&gt;" in named


# --- the talk list's preview --------------------------------------------------------------


def _message(text: str, medias: list | None = None) -> TalkMessageOut:
    return msgspec.convert(
        {
            "id": "m1",
            "talk_id": "t1",
            "customer_id": "c1",
            "agent_id": "a1",
            "type": "normal",
            "text": text,
            "parent_id": None,
            "reply_count": 0,
            "medias": medias or [],
            "reactions": [],
            "tm_create": "2026-01-01T00:00:00.000000Z",
            "tm_update": "2026-01-01T00:00:00.000000Z",
            "tm_delete": "9999-01-01T00:00:00.000000Z",
        },
        TalkMessageOut,
    )


def test_the_preview_is_one_short_line():
    assert preview(None) == ""
    assert preview(_message("  hello\n\n  there\t you ")) == "hello there you"
    long = preview(_message("word " * 100))
    assert len(long) <= PREVIEW_CHARS and long.endswith("…")
    media = {"url": "https://x.example/a.png", "type": "image/png", "name": "a.png"}
    assert preview(_message("", [media])) == "📎 1 file"
    assert preview(_message("", [media, media])) == "📎 2 files"
    assert preview(_message("<b>x</b>")) == "<b>x</b>"  # escaped by the template, once

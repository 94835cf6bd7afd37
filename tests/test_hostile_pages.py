"""Hostile pages and servers (issue 16): no hang, no internal address, no made-up date, no traceback.

Every URL test talks to a real HTTP server (http.server in a thread on 127.0.0.1). Loopback is not a
public address, so these tests allow it explicitly (FETCH_PRIVATE_NETWORKS=127.0.0.1/32, or
FETCH_ALLOW_PRIVATE=true), and the refusal tests check that without that, nothing is fetched.
"""

from __future__ import annotations

import contextlib
import http.server
import ipaddress
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli import add as add_cli
from bot.corpus.fetch import BlockedAddress, FetchPolicy
from bot.corpus.files import load_article
from bot.corpus.html import HtmlLimits, extract_html
from bot.corpus.ingest import draft_from_url
from bot.corpus.page_date import dateline_date, page_date
from bot.errors import ArticleError, ReportBotError
from bot.text.citation import source_line

LOOPBACK_ONLY = FetchPolicy(timeout=5, deadline=10, private_networks=(ipaddress.ip_network("127.0.0.1/32"),))
PAGE = (
    "<html><head><title>Harbour reopens</title>{head}</head><body><article><h1>Harbour reopens</h1>"
    "<p>{first}</p><p>The harbour reopened to shipping on Tuesday, the port authority said.</p>"
    "<p>Ferries to the islands will resume on Wednesday, officials said.</p></article></body></html>"
)


def page(head: str = "", first: str = "The port authority lifted all restrictions after repairs.") -> bytes:
    return PAGE.format(head=head, first=first).encode()


Route = Callable[[http.server.BaseHTTPRequestHandler], None]


class Server:
    """A threaded HTTP server on 127.0.0.x whose routes are functions of the request handler."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[str] = []
        routes, hits = self.routes, self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:
                hits.append(self.path)
                route = routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    route(self)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    try:
        yield s
    finally:
        s.close()


def send(body: bytes, content_type: str = "text/html; charset=utf-8") -> Route:
    def route(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    return route


def redirect(to: str, code: int = 302) -> Route:
    def route(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(code)
        h.send_header("Location", to)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return route


# --- 13. redirects and addresses ---------------------------------------------------------------


def test_loopback_is_refused_unless_allowed(server: Server):
    """Without FETCH_ALLOW_PRIVATE, a loopback URL is refused before any connection is made."""
    server.routes["/news"] = send(page())
    with pytest.raises(BlockedAddress, match=r"refusing to fetch .*127\.0\.0\.1 is 127\.0\.0\.1, not a public address"):
        draft_from_url(f"{server.url}/news", policy=FetchPolicy(timeout=5, deadline=10))
    assert server.hits == []
    assert draft_from_url(f"{server.url}/news", policy=FetchPolicy(allow_private=True)).fields["title"]
    assert server.hits == ["/news"]


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.2:{port}/inside",
        "http://[::1]:{port}/inside",
        "http://0.0.0.0:{port}/inside",
        "http://2130706434:{port}/inside",
        "http://0x7f.0.0.2:{port}/inside",
        "http://[::ffff:127.0.0.2]:{port}/inside",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/intranet",
        "http://192.168.1.1/router",
        "http://100.64.0.1/cgnat",
        "file:///etc/passwd",
        "ftp://127.0.0.1/x",
    ],
)
def test_redirect_to_an_internal_address_is_refused(server: Server, target: str):
    """A public-looking first hop (here: the one allowed address) redirecting inside: refused, nothing fetched."""
    inside = Server("127.0.0.2")
    try:
        inside.routes["/inside"] = send(page())
        server.routes["/news"] = redirect(target.format(port=inside.server.server_address[1]))
        with pytest.raises(ReportBotError) as err:
            draft_from_url(f"{server.url}/news", policy=LOOPBACK_ONLY)
        assert "not a public address" in str(err.value) or "unsupported protocol" in str(err.value).lower()
        assert inside.hits == [] and server.hits == ["/news"]
    finally:
        inside.close()


def test_allowed_private_network_and_redirect_within_it(server: Server):
    """FETCH_PRIVATE_NETWORKS lets an intranet server in, redirects included, and nothing else."""
    server.routes["/old"] = redirect("/news", 301)
    server.routes["/news"] = send(page())
    draft = draft_from_url(f"{server.url}/old", policy=LOOPBACK_ONLY)
    assert draft.fields["url"] == f"{server.url}/news" and server.hits == ["/old", "/news"]


def test_add_article_refuses_an_internal_redirect_in_one_line(server: Server, tmp_path: Path, capsys, monkeypatch):
    """add_article.py URL whose redirect leads inside: exit 1, one error line and the hint, no file."""
    monkeypatch.setenv("FETCH_PRIVATE_NETWORKS", "127.0.0.1/32")
    server.routes["/news"] = redirect("http://127.0.0.3:9/admin")
    corpus = tmp_path / "corpus"
    assert add_cli.main([f"{server.url}/news", "--corpus", str(corpus), "--no-build"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: refusing to fetch") and "FETCH_ALLOW_PRIVATE" in err and "Traceback" not in err
    assert not corpus.exists() or not list(corpus.iterdir())


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fc00::1", False),
        ("::ffff:10.0.0.1", False),
        ("64:ff9b::7f00:1", False),
        ("64:ff9b::5db8:d822", True),
        ("2002:7f00:1::1", False),
        ("::127.0.0.1", False),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),
    ],
)
def test_only_public_addresses_are_allowed_by_default(address: str, allowed: bool):
    """Loopback, private, link-local, shared, unspecified, multicast, and IPv6 forms carrying them: refused by default."""
    assert FetchPolicy().allows(address) is allowed
    assert FetchPolicy(allow_private=True).allows(address) is True


# --- 6. an overall deadline ---------------------------------------------------------------------


def trickle(delay: float, headers_too: bool = False) -> Route:
    """A server that sends one byte every `delay` seconds, for ever."""

    def route(h: http.server.BaseHTTPRequestHandler) -> None:
        if headers_too:
            for byte in b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nX-Slow: " + b"x" * 1000:
                h.wfile.write(bytes([byte]))
                h.wfile.flush()
                time.sleep(delay)
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.end_headers()
        for _ in range(10_000):
            h.wfile.write(b"<")
            h.wfile.flush()
            time.sleep(delay)

    return route


@pytest.mark.parametrize("headers_too", [False, True], ids=["body", "headers"])
def test_slow_server_is_cut_off_at_the_deadline(server: Server, headers_too: bool):
    """A server sending a byte every 0.3 s (each read well inside the timeout) is cut off at FETCH_DEADLINE_SECONDS."""
    server.routes["/slow"] = trickle(0.3, headers_too)
    policy = FetchPolicy(timeout=5, deadline=2, allow_private=True)
    started = time.monotonic()
    with pytest.raises(ReportBotError, match=r"no complete answer within 2 s \(FETCH_DEADLINE_SECONDS\)"):
        draft_from_url(f"{server.url}/slow", policy=policy)
    assert 1.9 < time.monotonic() - started < 3.5


def test_fetch_settings_are_validated():
    """FETCH_DEADLINE_SECONDS and friends: finite and in range, or one line naming the setting."""
    from bot.errors import ConfigError
    from bot.settings import load_settings

    for name, value in [
        ("fetch_deadline_seconds", "nan"),
        ("fetch_deadline_seconds", "inf"),
        ("fetch_deadline_seconds", "-1"),
        ("fetch_timeout_seconds", "0"),
        ("html_extract_timeout_seconds", "1e9"),
        ("html_max_elements", "10"),
        ("fetch_private_networks", "not-a-network"),
    ]:
        with pytest.raises(ConfigError, match=name.upper()):
            load_settings(_env_file=None, **{name: value})
    settings_ = load_settings(_env_file=None, fetch_private_networks="10.0.0.0/8, 127.0.0.1")
    assert FetchPolicy.from_settings(settings_).allows("10.9.8.7")


# --- 2 and 3 by URL: front matter served as text/markdown --------------------------------------

BOMB = "---\na: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ntitle: Bomb\n---\nThe council met on Monday, officials said.\n"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (BOMB, "anchors (&name) are not allowed"),
        ("---\ntitle: T\ndate: 2015-02-30\n---\nThe council met on Monday, officials said.\n", "not a real date"),
        ("---\ntitle: T\ndate: " + "7" * 5000 + "\n---\nThe council met, officials said.\n", "at most 64 characters"),
    ],
    ids=["alias-bomb", "feb-30", "5000-digits"],
)
def test_markdown_by_url_with_hostile_front_matter_is_one_line(
    server: Server, tmp_path: Path, capsys, monkeypatch, body: str, reason: str
):
    """add_article.py URL serving text/markdown with an alias bomb or a bad value: exit 1, one line, quickly."""
    monkeypatch.setenv("FETCH_ALLOW_PRIVATE", "true")
    server.routes["/a.md"] = send(body.encode(), "text/markdown; charset=utf-8")
    started = time.monotonic()
    assert add_cli.main([f"{server.url}/a.md", "--corpus", str(tmp_path / "corpus"), "--no-build"]) == 1
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err
    assert err.startswith("error: ") and reason in err and "Traceback" not in err


# --- 5. bounded HTML extraction -------------------------------------------------------------------


def table_page(rows: int, cols: int = 10) -> bytes:
    cells = "".join(f"<td>c{j}</td>" for j in range(cols))
    return page(first="The results are in the table below, officials said.").replace(
        b"</article>", b"<table>" + f"<tr>{cells}</tr>".encode() * rows + b"</table></article>"
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: table_page(20_000),
        lambda: page().replace(b"</article>", b"<div><span>item</span></div>" * 30_000 + b"</article>"),
        lambda: page().replace(b"</article>", b"<ul>" + b"<li>x</li>" * 50_000 + b"</ul></article>"),
        lambda: page().replace(
            b"</article>", b"<figure><img src=x><figcaption>Caption %d</figcaption></figure>" * 15_000 + b"</article>"
        ),
    ],
    ids=["20k-row-table", "30k-divs", "50k-list-items", "15k-figures"],
)
def test_huge_pages_are_refused_quickly_with_the_setting_named(tmp_path: Path, make: Callable[[], bytes]):
    """Pages over HTML_MAX_ELEMENTS are skipped with their reason in about a second, not extracted for minutes."""
    path = tmp_path / "big.html"
    path.write_bytes(make())
    assert path.stat().st_size < 5 * 2**20
    started = time.monotonic()
    with pytest.raises(ArticleError, match=r"big\.html: the page has [\d,]+ HTML elements, .*HTML_MAX_ELEMENTS"):
        load_article(path)
    assert time.monotonic() - started < 5


def test_slow_extraction_is_cut_off_at_the_time_budget():
    """A page under the element cap that still takes long stops at HTML_EXTRACT_TIMEOUT_SECONDS."""
    data = table_page(5_000)
    started = time.monotonic()
    with pytest.raises(ArticleError, match=r"took over 0\.5 s \(HTML_EXTRACT_TIMEOUT_SECONDS\)"):
        extract_html(data, "slow.html", limits=HtmlLimits(max_elements=10_000_000, timeout_seconds=0.5))
    assert time.monotonic() - started < 3


def test_figure_captions_are_placed_in_linear_time():
    """10,000 figures: captions placed in about a second (a scan per caption made this quadratic)."""
    from bot.corpus.html import _with_captions

    blocks = [f"Paragraph {i} says something, he said." for i in range(10_000)]
    captions = [(blocks[i], f"Caption {i}", "Reuters") for i in range(10_000)]
    started = time.monotonic()
    out = _with_captions(blocks, captions, None)
    assert time.monotonic() - started < 2
    assert out[:4] == [blocks[0], "Photo by: Reuters", "Caption 0", blocks[1]] and len(out) == 30_000


# --- 7. dates from metadata or a dateline only --------------------------------------------------


@pytest.mark.parametrize(
    "first",
    [
        "The lighthouse, built in 1998, reopened after repairs, officials said.",
        "In March 2003 the bridge was closed; it reopened on 5 May 2019, officials said.",
        "Copyright 2011. The harbour reopened on Tuesday, the port authority said.",
        "Updated 2020-01-01: the harbour reopened on Tuesday, officials said.",
        "Since 12/04/2016 the ferry has run twice a day, officials said.",
    ],
)
def test_page_without_date_metadata_stays_undated(tmp_path: Path, first: str):
    """Years and dates in the body text never become the page's date; the citation says "date unknown"."""
    path = tmp_path / "page.html"
    path.write_bytes(page(first=first))
    meta = load_article(path).meta
    assert meta.date is None
    assert "date unknown" in source_line(meta, 1, "paragraph")


@pytest.mark.parametrize(
    ("head", "url", "first", "expected"),
    [
        ('<meta property="article:published_time" content="2024-03-05T10:00:00Z">', None, None, "2024-03-05"),
        ('<meta name="DC.date.issued" content="2019-11-02">', None, None, "2019-11-02"),
        ('<meta name="date" content="Tue, 05 Mar 2024 10:00:00 GMT">', None, None, "2024-03-05"),
        (
            '<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2015-10-08"}</script>',
            None,
            None,
            "2015-10-08",
        ),
        ('<meta property="article:modified_time" content="2024-03-05">', None, None, None),
        ('<meta property="article:published_time" content="2015-02-30">', None, None, None),
        ("", "https://news.example/2016/07/14/harbour-reopens", None, "2016-07-14"),
        ("", "https://news.example/1998/harbour", None, None),
        ("", None, "WASHINGTON, Oct. 8, 2015 (Reuters) - The harbour reopened, officials said.", "2015-10-08"),
        ("", None, "8 October 2015 — The harbour reopened on Tuesday, officials said.", "2015-10-08"),
        ("", None, "LONDON, 30 February 2015 - The harbour reopened, officials said.", None),
        ("", None, "The harbour, opened October 8, 2015 - and closed since, officials said.", None),
    ],
    ids=[
        "og-published",
        "dc-issued",
        "rfc-2822",
        "json-ld",
        "modified-only",
        "impossible-metadata-date",
        "url-path",
        "url-year-only",
        "dateline-us",
        "dateline-uk",
        "impossible-dateline",
        "date-mid-sentence",
    ],
)
def test_dates_come_from_metadata_address_or_a_clear_dateline(
    head: str, url: str | None, first: str | None, expected: str | None
):
    """Published-date metadata, a /YYYY/MM/DD/ address or a dateline date a page; nothing else does."""
    data = page(head=head, first=first or "The port authority lifted all restrictions after repairs.")
    assert page_date(data, url, first) == expected
    if first is None:
        fields, _ = extract_html(data, "p.html", url)
        assert fields["date"] == expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    words=st.lists(
        st.one_of(
            st.integers(1000, 2100).map(str),
            st.dates().map(str),
            st.dates().map(lambda d: d.strftime("%d %B %Y")),
            st.dates().map(lambda d: d.strftime("%B %d, %Y")),
            st.sampled_from(["built", "in", "the", "harbour", "since", "on", "reopened", "said", "—", "-", ","]),
        ),
        min_size=3,
        max_size=30,
    )
)
def test_no_date_is_made_up_from_any_body_text(words: list[str]):
    """Body text full of years and dates, no metadata: undated, unless its first words are a dateline."""
    first = " ".join(words) + ", officials said."
    fields, _ = extract_html(page(first=first), "p.html")
    assert fields["date"] is None or fields["date"] == dateline_date(first)


_TAGS = ["p", "div", "span", "table", "tr", "td", "ul", "li", "h1", "h2", "figure", "figcaption", "article", "a", "b"]
_HTML = st.recursive(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=40).map(
        lambda t: t.replace("&", "&amp;").replace("<", "&lt;")
    ),
    lambda inner: st.tuples(st.sampled_from(_TAGS), st.lists(inner, max_size=6)).map(
        lambda tc: f"<{tc[0]}>{''.join(tc[1])}</{tc[0]}>"
    ),
    max_leaves=60,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_HTML, title=st.text(max_size=30))
def test_any_html_is_extracted_or_refused_with_its_reason(body: str, title: str):
    """Arbitrary HTML: fields and blocks, or one `ArticleError` naming the page; never a hang or another error."""
    data = f"<html><head><title>{title.replace('<', ' ')}</title></head><body>{body}</body></html>"
    started = time.monotonic()
    try:
        fields, text = extract_html(data.encode("utf-8"), "any.html", limits=HtmlLimits(2_000, 10))
    except ArticleError as exc:
        assert str(exc).startswith("any.html: ")
        return
    finally:
        assert time.monotonic() - started < 12
    assert text.strip() and fields["title"]
    assert fields["date"] is None or fields["date"] == dateline_date(text.split("\n\n")[0])


@pytest.mark.parametrize(
    ("head", "field", "expected"),
    [
        ('<meta property="og:title" content="' + "Long " * 400 + '">', "title", 500),
        ('<meta name="author" content="' + "Name, " * 200 + '">', "byline", 300),
        ('<link rel="canonical" href="javascript:alert(1)">', "url", None),
    ],
    ids=["2000-char-title", "1200-char-byline", "javascript-canonical"],
)
def test_page_metadata_is_bounded_not_fatal(tmp_path: Path, head: str, field: str, expected: int | None):
    """A page with hostile metadata still loads: over-long text is cut to the front-matter bound, a non-web URL dropped."""
    path = tmp_path / "page.html"
    path.write_bytes(page(head=head))
    meta = load_article(path).meta.to_dict()
    if expected is None:
        assert meta[field] is None
    else:
        assert meta[field] is None or len(meta[field]) <= expected
        assert meta["title"]


@pytest.mark.parametrize(
    "source", ["http://", "http://[::1", "http://a..b/", "https://" + "a" * 300 + ".com/", "redirect:http://[::1"]
)
def test_odd_urls_are_one_line_not_a_traceback(server: Server, tmp_path: Path, capsys, monkeypatch, source: str):
    """Malformed addresses (and a redirect to one): exit 1 with one error line and a hint."""
    monkeypatch.setenv("FETCH_ALLOW_PRIVATE", "true")
    if source.startswith("redirect:"):
        server.routes["/r"] = redirect(source.removeprefix("redirect:"))
        source = f"{server.url}/r"
    assert add_cli.main([source, "--corpus", str(tmp_path / "corpus"), "--no-build"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and len(err.splitlines()) <= 2

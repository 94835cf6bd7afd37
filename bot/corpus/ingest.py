"""Adding one article to the corpus: a file or a web page becomes a normalised corpus file.

Whatever the source (.txt, .md, .html, or an http(s) URL), the result is a Markdown file with YAML
front matter (title, publisher, date, url, byline) and the article's blocks, under a slug name in
the corpus folder. The document is parsed with the loader before it is written, so what lands in
the corpus is known to load; it is written atomically and never outside the corpus folder.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.corpus.articles import (
    FRONT_MATTER_FIELDS,
    HTML_SUFFIXES,
    MAX_ARTICLE_BYTES,
    Article,
    as_iso_date,
    corpus_files,
    decode_bytes,
    format_article,
    normalise_text,
    parse_article,
    split_front_matter,
)
from bot.errors import ArticleError, ReportBotError

if TYPE_CHECKING:
    from bot.settings import Settings

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
USER_AGENT = "report-bot/0.1 (add_article)"
_URL = re.compile(r"^https?://", re.I)


class UnsafeTarget(ReportBotError):
    """The file would land outside the corpus folder."""

    hint = "give --name a plain file name (or a path below the corpus folder) without '..'"


class TargetExists(ReportBotError):
    """A different file of that name is already in the corpus."""

    hint = "pass --force to replace it, or --name to choose another file name"


@dataclass
class Draft:
    """An article ready to be written: its front matter fields and body, and where it came from."""

    fields: dict[str, Any]
    body: str
    source: str
    warnings: list[str] = field(default_factory=list)

    def document(self) -> str:
        """The normalised file's text."""
        return format_article(self.fields, self.body)


def is_url(source: str) -> bool:
    """Whether `source` is a web address rather than a file path."""
    return bool(_URL.match(source))


def _with_title_block(title: str, body: str) -> str:
    """The body with the title as its first block, as the loader expects (standfirst follows it)."""
    first = body.split("\n\n", 1)[0].strip().lstrip("#").strip()
    return body if first.casefold() == title.casefold() else f"# {title}\n\n{body}"


def draft_from_text(text: str, source: str, *, url: str | None = None) -> Draft:
    """A draft from a .txt/.md text: front matter kept, the rest inferred as the loader does."""
    fields, body = split_front_matter(text, Path(source))
    body = normalise_text(body)
    article = parse_article(text, Path(source))
    meta = article.meta
    if not fields.get("title") and "\n" in body.split("\n\n", 1)[0]:
        # A title line directly followed by text: give it its own block.
        first, rest = body.split("\n", 1)
        body = f"{first}\n\n{rest}"
    values = {"title": meta.title, "publisher": meta.publisher, "date": meta.date, "url": meta.url or url}
    values["byline"] = meta.byline
    return Draft(values, body, source, warnings=article.warnings)


def draft_from_html(data: bytes | str, source: str, *, url: str | None = None) -> Draft:
    """A draft from a web page's main text and metadata (trafilatura)."""
    from bot.corpus.html import extract_html

    fields, body = extract_html(data, source, url)
    return Draft(fields, _with_title_block(fields["title"], body), source)


def draft_from_file(path: Path) -> Draft:
    """Read a .txt, .md or .html file into a draft."""
    suffix = path.suffix.lower()
    if suffix not in (*TEXT_SUFFIXES, *HTML_SUFFIXES):
        raise ArticleError(f"{path}: unsupported file type {suffix or '(none)'}; use .txt, .md or .html")
    try:
        if path.stat().st_size > MAX_ARTICLE_BYTES:
            raise ArticleError(f"{path}: over the {MAX_ARTICLE_BYTES // 2**20} MiB limit")
        data = path.read_bytes()
    except FileNotFoundError:
        raise ArticleError(f"{path}: no such file") from None
    except OSError as exc:
        raise ArticleError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if not data.strip():
        raise ArticleError(f"{path}: empty file")
    if suffix in HTML_SUFFIXES:
        return draft_from_html(data, str(path))
    text, warning = decode_bytes(data, path)
    draft = draft_from_text(text, str(path))
    if warning:
        draft.warnings.append(warning)
    return draft


class BlockedAddress(ReportBotError):
    """A URL (or a redirect) leads to a loopback, private or link-local address."""

    hint = (
        "only public addresses are fetched; set FETCH_ALLOW_PRIVATE=true, or list the network in "
        "FETCH_PRIVATE_NETWORKS, to fetch from this one"
    )


@dataclass(frozen=True)
class FetchPolicy:
    """What a URL fetch may do: how long it may take and which addresses it may connect to."""

    #: Longest wait for any one read (connect, a chunk of headers or body).
    timeout: float = 30.0
    #: Longest whole fetch, redirects included, however slowly the server sends.
    deadline: float = 120.0
    #: Loopback, private, link-local and other non-public addresses allowed.
    allow_private: bool = False
    #: Non-public networks allowed anyway.
    private_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        """FETCH_TIMEOUT_SECONDS, FETCH_DEADLINE_SECONDS, FETCH_ALLOW_PRIVATE, FETCH_PRIVATE_NETWORKS."""
        return cls(
            timeout=settings.fetch_timeout_seconds,
            deadline=settings.fetch_deadline_seconds,
            allow_private=settings.fetch_allow_private,
            private_networks=tuple(settings.fetch_private_networks),
        )

    def allows(self, address: str) -> bool:
        """Whether a resolved address may be connected to."""
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address):
            ip = _embedded_ipv4(ip) or ip
        if ip.is_global and not ip.is_multicast:
            return True
        return self.allow_private or any(ip in net for net in self.private_networks if net.version == ip.version)


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64, IPv4-compatible): it is where it leads."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _guarded_backend(policy: FetchPolicy) -> Any:
    """An httpcore network backend that resolves each host itself and connects only to allowed addresses.

    Checking at connect time covers every hop of a redirect chain and leaves no gap between the
    check and the connection (a DNS answer that changes in between cannot slip an internal address
    through): the socket goes to the very address that was checked. TLS still verifies the host name.
    """
    import httpcore

    class GuardedBackend(httpcore.SyncBackend):
        def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: float | None = None,
            local_address: str | None = None,
            socket_options: Iterable[Any] | None = None,
        ) -> httpcore.NetworkStream:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except OSError as exc:
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror or exc}") from exc
            addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
            refused = [a for a in addresses if not policy.allows(a)]
            if refused or not addresses:
                shown = ", ".join(refused or addresses)
                raise BlockedAddress(f"{host} is {shown}, not a public address")
            for address in addresses[:-1]:  # as socket.create_connection does: each address in turn
                try:
                    return super().connect_tcp(address, port, timeout, local_address, socket_options)
                except (httpcore.ConnectError, httpcore.ConnectTimeout):
                    continue
            return super().connect_tcp(addresses[-1], port, timeout, local_address, socket_options)

    return GuardedBackend()


def _download(url: str, policy: FetchPolicy, abandon: threading.Event) -> tuple[bytes, str, str]:
    """The page's bytes, final URL and content type; raises `ArticleError` or `ReportBotError`."""
    import httpx

    transport = httpx.HTTPTransport(retries=0, trust_env=False)
    transport._pool._network_backend = _guarded_backend(policy)
    try:
        with (
            httpx.Client(
                transport=transport,
                follow_redirects=True,
                max_redirects=10,
                timeout=policy.timeout,
                trust_env=False,  # an environment proxy would hide where we connect
                headers={"User-Agent": USER_AGENT},
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise ArticleError(f"{url}: the server answered {response.status_code} {response.reason_phrase}")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                if abandon.is_set():
                    raise ArticleError(f"{url}: abandoned")
                size += len(chunk)
                if size > MAX_ARTICLE_BYTES:
                    raise ArticleError(f"{url}: page is over the {MAX_ARTICLE_BYTES // 2**20} MiB limit")
                chunks.append(chunk)
            final_url = str(response.url)
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    except BlockedAddress as exc:
        raise BlockedAddress(f"refusing to fetch {url}: {exc}") from None
    except httpx.HTTPError as exc:
        raise ReportBotError(
            f"cannot fetch {url}: {str(exc) or type(exc).__name__}", hint="check the address and the network"
        ) from exc
    except (httpx.InvalidURL, UnicodeError) as exc:  # also a redirect's Location
        raise ReportBotError(
            f"cannot fetch {url}: not a valid web address ({str(exc)[:120] or type(exc).__name__})",
            hint="check the address",
        ) from exc
    return b"".join(chunks), final_url, content_type


def fetch(url: str, policy: FetchPolicy | None = None) -> tuple[bytes, str, str]:
    """Download `url` within `policy.deadline` seconds overall: bytes, final URL, content type.

    httpx's timeout bounds each read, so a server sending a byte every few seconds could hold a
    fetch for ever; the download runs in a worker thread that is abandoned at the deadline (it
    stops at its next chunk, or at its next read timeout).
    """
    policy = policy or FetchPolicy()
    outcome: list[tuple[bytes, str, str] | BaseException] = []
    abandon = threading.Event()

    def work() -> None:
        try:
            outcome.append(_download(url, policy, abandon))
        except BaseException as exc:  # handed to the waiting thread
            outcome.append(exc)

    worker = threading.Thread(target=work, name="fetch", daemon=True)
    worker.start()
    worker.join(policy.deadline)
    if worker.is_alive():
        abandon.set()
        raise ReportBotError(
            f"cannot fetch {url}: no complete answer within {policy.deadline:g} s (FETCH_DEADLINE_SECONDS)",
            hint="try again later, or save the page and add the file",
        )
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def draft_from_url(url: str, *, policy: FetchPolicy | None = None) -> Draft:
    """Fetch a web page (or a plain text file) and draft it; the URL goes into the front matter."""
    data, final_url, content_type = fetch(url, policy)
    if not data.strip():
        raise ArticleError(f"{url}: the page is empty")
    if content_type in ("text/plain", "text/markdown"):
        text, warning = decode_bytes(data, Path(url))
        draft = draft_from_text(text, url, url=final_url)
        draft.warnings.extend([warning] if warning else [])
        return draft
    return draft_from_html(data, url, url=final_url)


def read_source(source: str, policy: FetchPolicy | None = None) -> Draft:
    """A draft from a file path or an http(s) URL (fetched under `policy`, default: FetchPolicy()).

    Whatever goes wrong with the source's content is an `ArticleError` naming it, never a traceback.
    """
    try:
        if is_url(source):
            return draft_from_url(source, policy=policy)
        return draft_from_file(Path(source).expanduser())
    except (RecursionError, ValueError, TypeError, LookupError, ArithmeticError) as exc:
        reason = f"{type(exc).__name__}: {str(exc)[:120]}"
        raise ArticleError(f"{source}: could not be read as an article ({reason})") from exc


def apply_overrides(draft: Draft, overrides: dict[str, str | None]) -> None:
    """Fields given on the command line win over what was found; dates must be ISO."""
    for key in FRONT_MATTER_FIELDS:
        value = overrides.get(key)
        if value is not None:
            draft.fields[key] = value.strip() or None
    if draft.fields.get("date"):
        draft.fields["date"] = as_iso_date(draft.fields["date"], Path(draft.source))


def slug_name(fields: dict[str, Any], document: str) -> str:
    """A safe, readable file name: publisher, date and title as lowercase ASCII words."""
    from slugify import slugify

    parts = [fields.get("publisher") or "", fields.get("date") or "", fields.get("title") or ""]
    slug = slugify(" ".join(str(p) for p in parts if p), max_length=80, word_boundary=True)
    if not slug:
        slug = "article-" + hashlib.sha256(document.encode("utf-8")).hexdigest()[:10]
    return f"{slug}.md"


def target_path(corpus_dir: Path, name: str) -> Path:
    """Where `name` lands in the corpus; refuses absolute paths, '..' and symlinks that lead out."""
    relative = Path(name)
    hidden = any(part.startswith(".") for part in relative.parts)  # the loader never reads those
    if relative.is_absolute() or ".." in relative.parts or not relative.name or hidden:
        raise UnsafeTarget(f"refusing to write {name!r}: not a plain name inside the corpus folder")
    if relative.suffix.lower() != ".md":
        relative = relative.with_name(relative.name + ".md")
    root = corpus_dir.resolve()
    target = root / relative
    resolved = target.resolve()
    if not resolved.is_relative_to(root):
        raise UnsafeTarget(f"refusing to write {target}: it leads to {resolved}, outside the corpus folder {root}")
    return target


@dataclass
class Added:
    """What `add_to_corpus` did."""

    path: Path
    article: Article
    status: str  # "added", "replaced", "unchanged" or "duplicate"
    duplicate_of: Path | None = None
    #: A duplicate by its words only: the same article body under other metadata (e.g. publisher).
    same_body: bool = False


def add_to_corpus(draft: Draft, corpus_dir: Path, *, name: str | None = None, force: bool = False) -> Added:
    """Write the draft into the corpus folder as a normalised file, atomically."""
    document = draft.document()
    target = target_path(corpus_dir, name or slug_name(draft.fields, document))
    article = parse_article(document, target)  # what lands in the corpus must load
    if target.exists():
        if target.read_text(encoding="utf-8", errors="replace") == document:
            return Added(target, article, "unchanged")
        if not force:
            raise TargetExists(f"{target} already exists with different text")
    # The same words already in the corpus, under any metadata, are not written again. A file is
    # parsed only if it holds the draft's longest paragraph, so this stays a text scan.
    body = article.body_hash
    probe = max((b.text for b in article.body_blocks), key=len, default="")
    for other in corpus_files(corpus_dir):
        if other.is_symlink() or not other.is_file():
            continue  # never read through a link, nor from a FIFO (the loader refuses both too)
        if other.resolve() != target.resolve() and other.suffix.lower() in (".md", ".txt"):
            try:
                text = other.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if text == document:
                return Added(other, article, "duplicate", duplicate_of=other)
            if probe and probe in text:
                try:
                    same_body = parse_article(text, other).body_hash == body
                except Exception:  # a file that does not parse holds no article to be a copy of
                    continue
                if same_body:
                    return Added(other, article, "duplicate", duplicate_of=other, same_body=True)
    status = "replaced" if target.exists() else "added"
    resolved = target.resolve()
    resolved.parent.mkdir(parents=True, exist_ok=True)
    tmp = resolved.with_name(f".{resolved.name}.{os.getpid()}.tmp")  # hidden: the loader skips it
    try:
        tmp.write_text(document, encoding="utf-8")
        os.replace(tmp, resolved)
    finally:
        tmp.unlink(missing_ok=True)
    return Added(target, article, status)

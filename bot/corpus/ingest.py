"""Adding one article to the corpus: a file or a web page becomes a normalised corpus file.

Whatever the source (.txt, .md, .html, or an http(s) URL), the result is a Markdown file with YAML
front matter (title, publisher, date, url, byline) and the article's blocks, under a slug name in
the corpus folder. The document is parsed with the loader before it is written, so what lands in
the corpus is known to load; it is written atomically and never outside the corpus folder.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.corpus.articles import HTML_SUFFIXES, MAX_ARTICLE_BYTES, Article, parse_article
from bot.corpus.fetch import FetchPolicy, fetch
from bot.corpus.files import corpus_files
from bot.corpus.front_matter import FRONT_MATTER_FIELDS, as_iso_date, format_article, split_front_matter
from bot.corpus.normalise import decode_bytes, normalise_text
from bot.errors import ArticleError, ReportBotError

if TYPE_CHECKING:
    pass

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
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

"""`scripts/add_article.py` / `report-add`: put a file or a web page into the corpus and index it.

The source (.txt, .md, .html or an http(s) URL) becomes a normalised Markdown file with front
matter in the corpus folder, named after its publisher, date and title; then the index is updated
incrementally, so only the new article is embedded. Exit codes are those of build_index.py.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from bot.cli.build import build_parser, finish_command, run_build
from bot.cli.common import add_path_options, command, interrupted_code, interrupted_word, say, settings_from_args
from bot.errors import storage_error

if TYPE_CHECKING:
    from bot.corpus.ingest import Added


def parser() -> argparse.ArgumentParser:
    """The argument parser."""
    p = build_parser(
        "add_article.py",
        "Add an article to the corpus from a file (.txt, .md, .html) or a web page (http/https URL): it is "
        "saved as a Markdown file with front matter (title, publisher, date, url, byline) and the index is "
        "updated.",
    )
    p.add_argument("source", metavar="PATH_OR_URL", help="a .txt, .md or .html file, or an http(s) URL")
    p.add_argument("--title", help="title (instead of the one found in the source)")
    p.add_argument("--publisher", help="publisher, e.g. 'TRT World'")
    p.add_argument("--date", help="publication date, YYYY-MM-DD")
    p.add_argument("--byline", help="byline, e.g. 'TRTWorld and agencies'")
    p.add_argument("--url", help="the article's original address")
    p.add_argument("--name", help="file name in the corpus folder (default: a slug of publisher, date and title)")
    p.add_argument("--force", action="store_true", help="replace an existing file of the same name with different text")
    p.add_argument("--no-build", action="store_true", help="only write the corpus file; do not update the index")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_path_options(p)
    return p


def added_line(added: Added) -> str:
    """What the add did: the file written, or why nothing was."""
    meta = added.article.meta
    about = " · ".join(str(x) for x in (meta.title, meta.publisher, meta.date) if x)
    if added.status == "duplicate" and added.same_body:
        return f"already in the corpus as {added.path} (the same article body, other metadata); nothing written"
    if added.status == "duplicate":
        return f"already in the corpus as {added.path} (same text); nothing written"
    if added.status == "unchanged":
        return f"{added.path} already holds this article; nothing written"
    return f"{added.status} {added.path}: {about} ({len(added.article.body_blocks)} paragraphs)"


@command
def main(argv: list[str] | None = None) -> int:
    """Entry point: write the corpus file, then build; 1 when the source cannot be added."""
    args = parser().parse_args(argv)
    settings = settings_from_args(args)  # an invalid setting: `command` prints its one line
    from bot.corpus.fetch import FetchPolicy
    from bot.corpus.ingest import add_to_corpus, apply_overrides, read_source

    try:
        draft = read_source(args.source, FetchPolicy.from_settings(settings))
        apply_overrides(
            draft,
            {
                "title": args.title,
                "publisher": args.publisher,
                "date": args.date,
                "byline": args.byline,
                "url": args.url,
            },
        )
        try:
            added = add_to_corpus(draft, settings.corpus_dir, name=args.name, force=args.force)
        except OSError as exc:  # a full or read-only corpus disk; add_to_corpus removed its temporary file
            error = storage_error(exc, settings.corpus_dir, outcome="nothing was added", flag="--corpus")
            if error is None:
                raise
            raise error from exc
    except KeyboardInterrupt as exc:  # while downloading or parsing: nothing was written
        say(f"{interrupted_word(exc)}: nothing was added to the corpus")
        return interrupted_code(exc)
    for line in draft.warnings:
        print(f"warning: {line}", file=sys.stderr)
    print(added_line(added))
    if args.no_build:
        print(f"index not updated (--no-build); run: python scripts/build_index.py --corpus {settings.corpus_dir}")
        return 0
    pending = str(added.path) if added.status in ("added", "replaced") else None
    try:
        from bot.embedding.embedder import Embedder

        embedder = Embedder.from_settings(settings)
    except KeyboardInterrupt as exc:  # while the model loads: the file is written, the index is not
        state = f"{added.path} is in the corpus but not in the index" if pending else "the index was not updated"
        say(f"{interrupted_word(exc)}: {state}; the previous index is unchanged")
        say(f"hint: to finish, run: {finish_command(settings)}")
        return interrupted_code(exc)
    return run_build(settings, embedder, quiet=args.quiet, pending=pending)


if __name__ == "__main__":
    sys.exit(main())

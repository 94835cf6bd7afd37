"""`scripts/attribute.py` / `report-attribute`: every sentence of one article with its speaker.

What the index will record, shown before building: users check who says what with it, and the
PolNeAR evaluation reads the same records. `--json` prints one object per sentence and line:
`{"start", "end", "text", "speaker", "speaker_kind", "cue", "rule"}`, where `start`/`end` are
character offsets into the article's body as its corpus file holds it (the text after the front
matter; for a web page, the text extracted from it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from bot.cli.common import fail, settings_from_args
from bot.errors import ReportBotError


def parser() -> argparse.ArgumentParser:
    """The argument parser."""
    p = argparse.ArgumentParser(
        prog="attribute.py",
        description="Show every sentence of one article with its speaker (who said it, and the rule that found it).",
    )
    p.add_argument("article", metavar="ARTICLE_FILE_OR_ID", help="a corpus file, or an article id in CORPUS_DIR")
    p.add_argument("--corpus", type=Path, metavar="DIR", help="corpus folder for an id (default: CORPUS_DIR)")
    p.add_argument("--json", action="store_true", help="one JSON object per sentence and line, with body offsets")
    return p


def resolve(article: str, corpus_dir: Path) -> Path | None:
    """The file an argument names: a path, or an id (its path below the corpus without ending)."""
    from bot.corpus.articles import SUPPORTED_SUFFIXES

    path = Path(article)
    if path.is_file():
        return path
    for suffix in ("", *SUPPORTED_SUFFIXES):
        candidate = corpus_dir / f"{article}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point: 0 when the article was attributed, 1 when it cannot be read."""
    args = parser().parse_args(argv)
    try:
        settings = settings_from_args(args)
        path = resolve(args.article, settings.corpus_dir)
        if path is None:
            print(f"error: no article file or id {args.article!r} (corpus: {settings.corpus_dir})", file=sys.stderr)
            return 1
        from bot.text.passages import article_body_sentences

        sentences = article_body_sentences(path, settings.corpus_dir)
    except ReportBotError as exc:
        return fail(exc)
    except KeyboardInterrupt:
        return 130
    try:
        for s in sentences:
            sp = s.speaker
            if args.json:
                record = {
                    "start": s.start,
                    "end": s.end,
                    "text": s.text,
                    "speaker": sp.label,
                    "speaker_kind": sp.kind,
                    "cue": sp.cue,
                    "rule": sp.rule,
                }
                print(json.dumps(record, ensure_ascii=False))
            else:
                how = (
                    f"{sp.rule}" + (f", '{sp.cue}'" if sp.cue else "") + (f", as '{sp.said_as}'" if sp.said_as else "")
                )
                print(f"[{s.start}-{s.end}] {sp.label} ({how}): {s.text}")
        sys.stdout.flush()
    except BrokenPipeError:
        # `attribute.py FILE | head`: the reader left; exit quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())

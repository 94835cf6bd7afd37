"""`scripts/attribute.py`: every sentence of one article with its speaker, offsets into the body."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bot.cli import attribute as attribute_cli
from bot.corpus.normalise import body_of
from tests.conftest import ROOT, SEED_FILE

ARTICLE = """---
title: "Port strike enters second week"
publisher: "Example News"
date: 2024-05-02
url:
byline: "Example News"
---
Dockers stayed out on Monday.  The harbour master, Jane Doe,
told local radio that the cranes were idle.

''We are not going back,'' said Marta Kessel, who leads the union. ''Not for 3%.''

"It is a fair offer," the port authority said. It said talks could resume on Thursday.
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "attribute.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )


def test_json_lines_give_every_sentence_with_body_offsets(tmp_path: Path):
    path = tmp_path / "strike.md"
    path.write_text(ARTICLE, encoding="utf-8")
    out = run(str(path), "--json")
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    body = body_of(ARTICLE)
    assert [set(r) for r in records] == [{"start", "end", "text", "speaker", "speaker_kind", "cue", "rule"}] * len(
        records
    )
    for r in records:
        # Offsets into the body as the file holds it: line breaks and double spaces included.
        assert " ".join(body[r["start"] : r["end"]].split()) == " ".join(r["text"].split())
    speakers = [(r["speaker"], r["speaker_kind"], r["rule"]) for r in records]
    assert speakers[0] == ("Example News", "publisher", "publisher")
    assert speakers[1][0] == "Jane Doe, via local radio" or speakers[1][0] == "Jane Doe"
    assert records[1]["cue"] == "told"
    assert [s[0] for s in speakers[2:4]] == ["Marta Kessel", "Marta Kessel"]
    assert speakers[4][0] == "port authority" and speakers[5][0] == "port authority"
    assert records[5]["rule"] == "pronoun"


def test_text_output_and_an_id_in_the_corpus():
    out = run(SEED_FILE.stem, "--corpus", str(SEED_FILE.parent))
    assert out.returncode == 0, out.stderr
    assert "SOHR (Syrian Observatory for Human Rights) (subject, 'confirmed')" in out.stdout


def test_unknown_article_is_one_line_and_exit_1():
    assert attribute_cli.main(["no-such-article", "--corpus", str(ROOT / "corpus")]) == 1
    out = run("no-such-article")
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr

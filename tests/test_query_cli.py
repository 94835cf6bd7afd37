"""`scripts/query.py` as users and programs call it: text, --json, --batch, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_script

pytestmark = pytest.mark.slow

QUESTION = "How many Russian air strikes were counted over Idlib and Hama?"


def test_readable_answer_names_speaker_and_source(seed_index: Path):
    result = run_script("scripts/query.py", "--index", str(seed_index), "-k", "2", QUESTION)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "«Over 40 air strikes showered over Idlib and Hama on Wednesday only, SOHR confirmed on Thursday.»" in out
    assert "— SOHR (Syrian Observatory for Human Rights)" in out
    assert "TRT World · Syrian regime initiates second Russian-backed offensive · 8 Oct 2015 · ¶12" in out
    assert "Traceback" not in result.stderr


def test_json_contract(seed_index: Path):
    result = run_script("scripts/query.py", "--json", "--index", str(seed_index), QUESTION)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"id", "question", "answered", "passages"}
    assert data["question"] == QUESTION and data["answered"] is True and len(data["passages"]) == 3
    first = data["passages"][0]
    assert set(first) >= {"text", "quote", "score", "speaker", "article", "paragraph"}
    assert first["quote"] in first["text"] and first["speaker"].startswith("SOHR")
    assert first["article"] == {
        "id": "trtworld-2015-10-08-syrian-regime-second-offensive",
        "title": "Syrian regime initiates second Russian-backed offensive",
        "publisher": "TRT World",
        "date": "2015-10-08",
        "url": None,
        "byline": "TRTWorld and agencies",
    }
    assert first["paragraph"] == 12 and isinstance(first["score"], float)


def test_batch_keeps_order_and_ids(seed_index: Path):
    lines = [
        {"id": "a", "q": "Who backed the Syrian-Russian forces in Al Ghab?"},
        {"id": 7, "q": "How do I reset my router?"},
        {"id": "c", "q": "Where is Maasran?"},
    ]
    stdin = "\n".join(json.dumps(x) for x in lines) + "\n"
    result = run_script("scripts/query.py", "--json", "--batch", "--index", str(seed_index), stdin=stdin)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", 7, "c"]
    assert [o["answered"] for o in out] == [True, False, True]
    assert "Hezbollah" in out[0]["passages"][0]["text"]


def test_batch_reports_a_bad_line_and_goes_on(seed_index: Path):
    stdin = '{"id": 1, "q": "Where is Maasran?"}\nnot json\n{"id": 3}\n{"id": 4, "q": "Where is Maasran?"}\n'
    result = run_script("scripts/query.py", "--json", "--batch", "--index", str(seed_index), stdin=stdin)
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == [1, None, 3, 4]
    assert "error" in out[1] and "error" in out[2] and out[3]["answered"] is True
    assert result.returncode == 1


def test_missing_index_is_a_clear_error(tmp_path: Path):
    result = run_script("scripts/query.py", "--index", str(tmp_path / "none"), QUESTION)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "error: no index" in result.stderr and "hint: build it with: python scripts/build_index.py" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [["--bogus", "q"], ["--batch", "q"], ["-k", "0", "q"], ["--json"]],
)
def test_bad_arguments_exit_2_with_usage(args: list[str]):
    result = run_script("scripts/query.py", *args, stdin="")
    assert result.returncode == 2
    assert "usage:" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("question", ["", "   ", "\t\n"])
def test_empty_question_is_a_usage_error(question: str, seed_index: Path):
    result = run_script("scripts/query.py", "--index", str(seed_index), question)
    assert result.returncode == 2
    assert "the question is empty: ask it in words" in result.stderr and "usage:" in result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_build_script_summary_and_partial_corpus(corpus_copy: Path, tmp_path: Path):
    (corpus_copy / "empty.md").write_text("", encoding="utf-8")
    index = tmp_path / "index"
    result = run_script("scripts/build_index.py", "--corpus", str(corpus_copy), "--index", str(index))
    assert result.returncode == 3, result.stderr  # partial build: a file was skipped
    assert "partial build: 1 file(s) skipped" in result.stderr
    assert "indexed 1 articles, 18 passages, 24 sentences in" in result.stdout
    assert f"skipped: {corpus_copy / 'empty.md'}: empty file" in result.stderr
    again = run_script("scripts/build_index.py", "--corpus", str(corpus_copy), "--index", str(index))
    assert "index up to date" in again.stdout


def test_build_script_fails_when_nothing_is_indexable(tmp_path: Path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "bad.txt").write_bytes(b"\x00")
    result = run_script("scripts/build_index.py", "--corpus", str(tmp_path / "c"), "--index", str(tmp_path / "i"))
    assert result.returncode == 1
    assert "nothing to index" in result.stderr and "binary" in result.stderr
    assert "Traceback" not in result.stderr


def test_json_has_confidence_and_decision_and_the_english_notice(seed_index: Path):
    lines = "\n".join(
        json.dumps({"id": i, "q": q})
        for i, q in enumerate([QUESTION, "Who won the Nobel Peace Prize in 2015?", "Что говорят об авиаударах России?"])
    )
    result = run_script("scripts/query.py", "--json", "--batch", "--index", str(seed_index), stdin=lines + "\n")
    assert result.returncode == 0, result.stderr
    answered, declined, russian = (json.loads(line) for line in result.stdout.splitlines())
    for data in (answered, declined, russian):
        assert 0.0 <= data["confidence"] <= 1.0 and data["decision"].startswith("answerability-")
    assert answered["answered"] and answered["confidence"] > declined["confidence"]
    assert not declined["answered"] and "notice" not in declined
    assert not russian["answered"] and "English" in russian["notice"] and "Russian" in russian["notice"]

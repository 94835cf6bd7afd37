"""Measuring answer quality: a question set in, the figures the issue asks for out.

A question set is JSON lines in the format of the shared dev questions: `q`; `expect` (strings of
which one should be in an answer passage); optionally `speaker` (names, one of which the speaker
of that passage should contain), `article` (the id or title of the article that should come first)
and `negative: true` (the corpus does not answer it). `evaluate()` runs every question through
`Engine.answer`, the one entry point every face uses, so what is measured is what users get.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import ReportBotError
from bot.retrieval.answers import Answer

#: Passages asked for per question: MRR and hit@k look this deep.
EVAL_DEPTH = 5


class BadQuestionSet(ReportBotError):
    """A question file that cannot be read or has a malformed line."""

    hint = 'each line must be a JSON object with "q" and either "expect" (a list of strings) or "negative": true'


def load_questions(path: Path) -> list[dict[str, Any]]:
    """The questions of a JSONL file, checked line by line (blank lines skipped)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BadQuestionSet(f"cannot read {path}: {exc.strerror or exc}") from exc
    questions: list[dict[str, Any]] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadQuestionSet(f"{path}:{n}: not JSON ({exc.msg})") from exc
        if not isinstance(item, dict) or not isinstance(item.get("q"), str) or not item["q"].strip():
            raise BadQuestionSet(f'{path}:{n}: expected an object with a non-empty string "q"')
        expect = item.get("expect")
        if not item.get("negative") and not (
            isinstance(expect, list) and expect and all(isinstance(e, str) and e for e in expect)
        ):
            raise BadQuestionSet(f'{path}:{n}: an answerable question needs "expect": a list of strings')
        item.setdefault("id", f"line{n}")
        questions.append(item)
    if not questions:
        raise BadQuestionSet(f"{path} holds no questions")
    return questions


def _norm(text: str) -> str:
    """Case, curly quotes and spacing folded, so `expect` strings match as a reader would."""
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return " ".join(text.casefold().split())


@dataclass
class QuestionResult:
    """What happened to one question."""

    id: str
    question: str
    negative: bool
    answered: bool
    #: 1-based rank of the first passage holding an expected string (None: not in the answer).
    rank: int | None
    #: The first quote (the sentence(s) shown) holds an expected string.
    quote_hit: bool
    speaker_ok: bool | None
    article_first: bool | None
    top_score: float | None
    seconds: float
    top_quote: str | None = None
    speaker: str | None = None
    #: The question's kind in the set (`kind` field: "who-said", "terse", ...), for per-kind figures.
    kind: str | None = None
    #: The decision's calibrated probability that the top passage answers.
    confidence: float | None = None


def judge(item: dict[str, Any], answer: Answer, seconds: float) -> QuestionResult:
    """Score one answer against its question's expectations."""
    expect = [_norm(e) for e in item.get("expect") or []]
    rank = next(
        (i for i, q in enumerate(answer.quotes, 1) if any(e in _norm(q.text) for e in expect)),
        None,
    )
    top = answer.quotes[0] if answer.quotes else None
    speaker_ok = None
    hit = answer.quotes[rank - 1] if rank else None
    if item.get("speaker") and hit is not None:
        label = _norm(hit.speaker.label)
        speaker_ok = any(_norm(s) in label for s in item["speaker"])
    article_first = None
    if item.get("article") and not item.get("negative"):
        want = _norm(item["article"])
        article_first = top is not None and want in (_norm(top.article.id), _norm(top.article.title))
    return QuestionResult(
        id=str(item["id"]),
        question=item["q"],
        negative=bool(item.get("negative")),
        answered=answer.answered,
        rank=rank,
        quote_hit=top is not None and any(e in _norm(top.quote) for e in expect),
        speaker_ok=speaker_ok,
        article_first=article_first,
        top_score=top.score if top else None,
        seconds=seconds,
        top_quote=top.quote if top else None,
        speaker=top.speaker.label if top else None,
        kind=item.get("kind"),
        confidence=getattr(answer, "confidence", None),
    )


def _figures(results: list[QuestionResult]) -> dict[str, Any]:
    """Every figure of some results, as numbers (counts with their totals, rates in [0, 1]).

    "Answered correctly" is answered with an expected passage first: what a user takes as the
    answer. Precision of "answered" is its share of all answered questions (answered near misses
    and answered-but-wrong count against it); recall, its share of the answerable questions.
    """
    answerable = [r for r in results if not r.negative]
    negatives = [r for r in results if r.negative]
    n = len(answerable)
    spk = [r.speaker_ok for r in answerable if r.speaker_ok is not None]
    art = [r.article_first for r in answerable if r.article_first is not None]
    answered = sum(1 for r in results if r.answered)
    correct = sum(1 for r in answerable if r.answered and r.rank == 1)
    return {
        "questions": len(results),
        "answerable": n,
        "hit@1": sum(1 for r in answerable if r.rank == 1),
        "hit@3": sum(1 for r in answerable if r.rank is not None and r.rank <= 3),
        "hit@5": sum(1 for r in answerable if r.rank is not None and r.rank <= EVAL_DEPTH),
        "mrr": round(sum(1 / r.rank for r in answerable if r.rank) / n, 4) if n else None,
        "quote_hit@1": sum(1 for r in answerable if r.quote_hit),
        "negatives": len(negatives),
        "negatives_not_answered": sum(1 for r in negatives if not r.answered),
        "false_abstentions": sum(1 for r in answerable if not r.answered),
        "answered": answered,
        "answered_correctly": correct,
        "answered_precision": round(correct / answered, 4) if answered else None,
        "answered_recall": round(correct / n, 4) if n else None,
        "speaker_checked": len(spk),
        "speaker_correct": sum(spk),
        "article_checked": len(art),
        "article_first": sum(art),
        "mean_query_ms": round(1000 * statistics.fmean(r.seconds for r in results), 1) if results else None,
    }


@dataclass
class Report:
    """The figures of one question set, and the per-question results behind them."""

    name: str
    results: list[QuestionResult] = field(default_factory=list)

    @property
    def answerable(self) -> list[QuestionResult]:
        """The questions the corpus answers."""
        return [r for r in self.results if not r.negative]

    @property
    def negatives(self) -> list[QuestionResult]:
        """The questions it does not."""
        return [r for r in self.results if r.negative]

    def hits(self, k: int) -> int:
        """Answerable questions with an expected passage in the top k."""
        return sum(1 for r in self.answerable if r.rank is not None and r.rank <= k)

    def figures(self) -> dict[str, Any]:
        """Every figure, as numbers (counts with their totals, rates in [0, 1])."""
        return _figures(self.results)

    def by_kind(self) -> dict[str, dict[str, Any]]:
        """The figures of each kind of question the set labels (`kind`), when it labels any."""
        kinds = sorted({r.kind for r in self.results if r.kind})
        return {k: _figures([r for r in self.results if r.kind == k]) for k in kinds}

    def to_dict(self) -> dict[str, Any]:
        """Figures and per-question results, for `--json`."""
        out: dict[str, Any] = {"set": self.name, "figures": self.figures()}
        if self.by_kind():
            out["by_kind"] = self.by_kind()
        out["results"] = [asdict(r) for r in self.results]
        return out

    def format_text(self, misses: bool = True) -> str:
        """A readable summary, then the questions that went wrong."""
        f = self.figures()
        n = f["answerable"]

        def pct(a: int, b: int) -> str:
            return f"{a}/{b} ({100 * a / b:.0f}%)" if b else "n/a"

        lines = [f"{self.name}: {f['questions']} questions ({n} answerable, {f['negatives']} negative)"]
        if n:
            lines += [
                f"  hit@1                     {pct(f['hit@1'], n)}",
                f"  hit@3                     {pct(f['hit@3'], n)}",
                f"  hit@{EVAL_DEPTH}                     {pct(f['hit@5'], n)}",
                f"  MRR@{EVAL_DEPTH}                     {f['mrr']:.3f}",
                f"  first quote holds answer  {pct(f['quote_hit@1'], n)}",
                f"  wrongly not answered      {pct(f['false_abstentions'], n)}",
            ]
        if f["negatives"]:
            lines.append(f"  negatives not answered    {pct(f['negatives_not_answered'], f['negatives'])}")
        if f["speaker_checked"]:
            lines.append(f"  speaker correct           {pct(f['speaker_correct'], f['speaker_checked'])}")
        if f["article_checked"]:
            lines.append(f"  right article first       {pct(f['article_first'], f['article_checked'])}")
        if f["answered"]:
            lines.append(
                f"  answered: precision {f['answered_precision']:.3f}, recall {f['answered_recall'] or 0:.3f}"
                f" ({f['answered_correctly']} right first of {f['answered']} answered)"
            )
        lines.append(f"  mean query time           {f['mean_query_ms']} ms")
        kinds = self.by_kind()
        if kinds:
            lines.append("  by kind (hit@1, hit@3, refused / answerable; declined / near misses):")
        for kind, k in kinds.items():
            parts = []
            if k["answerable"]:
                parts.append(
                    f"hit@1 {pct(k['hit@1'], k['answerable'])}, hit@3 {pct(k['hit@3'], k['answerable'])}, "
                    f"refused {pct(k['false_abstentions'], k['answerable'])}"
                )
            if k["negatives"]:
                parts.append(f"declined {pct(k['negatives_not_answered'], k['negatives'])}")
            lines.append(f"    {kind:<20} " + "; ".join(parts))
        if misses:
            lines += self._misses()
        return "\n".join(lines)

    def _misses(self) -> list[str]:
        """The lines listing the questions that went wrong, and how."""
        lines: list[str] = []
        wrong = [
            r
            for r in self.results
            if (r.negative and r.answered)
            or (not r.negative and (r.rank != 1 or not r.answered or r.speaker_ok is False))
            or r.article_first is False
        ]
        if wrong:
            lines.append("  to look at:")
        for r in wrong:
            what = (
                "answered a negative"
                if r.negative
                else ", ".join(
                    x
                    for x in (
                        "not in top" if r.rank is None else (f"rank {r.rank}" if r.rank != 1 else ""),
                        "" if r.answered else "abstained",
                        "wrong speaker" if r.speaker_ok is False else "",
                        "wrong article first" if r.article_first is False else "",
                    )
                    if x
                )
            )
            lines.append(f"    {r.id}: {what} (score {r.top_score}) — {r.question}")
        return lines


def evaluate(engine: Any, questions: list[dict[str, Any]], name: str = "questions") -> Report:
    """Ask every question through `engine.answer` and judge the answers."""
    report = Report(name)
    engine.about()  # open the index before timing
    for item in questions:
        started = time.perf_counter()
        answer = engine.answer(item["q"], EVAL_DEPTH)
        report.results.append(judge(item, answer, time.perf_counter() - started))
    return report


@dataclass
class AttributionReport:
    """Attribution accuracy on a labelled set: each sentence's expected speaker against ours."""

    total: int = 0
    correct: int = 0
    wrong: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        """Share of labelled sentences attributed correctly."""
        return self.correct / self.total if self.total else 0.0


def speaker_matches(label: dict[str, Any], speaker: Any) -> bool:
    """Whether our `Speaker` is the labelled one.

    Kinds must agree; for a source, the label's name is in ours or its full name ("SOHR" for the
    Syrian Observatory for Human Rights), or ours, of two words or more, is in the label's
    ("source at the highways agency" for "source at the highways agency who asked not to be named").
    """
    if speaker.kind != label["kind"]:
        return False
    want = _norm(label["speaker"])
    got = _norm(f"{speaker.name} {speaker.full_name or ''}")
    if speaker.kind == "caption":
        return _norm(label.get("via") or "") == _norm(speaker.via or "")
    return want in got or (len(speaker.name.split()) >= 2 and _norm(speaker.name) in want)


def evaluate_attribution(labels: list[dict[str, Any]], corpus_files: list[Path]) -> AttributionReport:
    """Split the labelled articles as the index does and compare every labelled sentence's speaker."""
    from bot.corpus.files import load_article
    from bot.text.passages import split_article

    sentences: dict[tuple[str, int, str], Any] = {}
    for path in corpus_files:
        article = load_article(path)
        for passage in split_article(article):
            for s in passage.sentences:
                sentences.setdefault((article.meta.id, passage.paragraph, s.text), s.speaker)
    report = AttributionReport()
    for label in labels:
        report.total += 1
        speaker = sentences.get((label["article"], label["paragraph"], label["sentence"]))
        if speaker is not None and speaker_matches(label, speaker):
            report.correct += 1
        else:
            report.wrong.append({**label, "got": speaker.label if speaker else None})
    return report

"""Attribution measured on PolNeAR (`../shared/polnear/SPLIT`): the four measures of its README.

Every article of a split is attributed as the index does (`bot.text.passages.body_sentences`), then
each gold attribution is compared with the speaker of the sentences holding its content:

- **source accuracy** (named sources): the speaker covering most of the content's characters
  shares a content word with the gold source (lower-cased; determiners, possessives, pronouns,
  prepositions and titles left out; a source that is only a title, "the senator", is matched on
  it). The narrator (publisher, byline) never counts as right.
- **pronoun figure**: of the attributions whose gold source is a pronoun, the share given to a
  named speaker at all (whether it is the right one is checked by hand: `tests/data/pronoun_check.jsonl`).
- **missed**: of all sourced attributions, the share left to the narrator.
- **precision**: of the sentences given to someone other than the narrator, the share holding a
  gold content span; of those whose gold sources include a named one, the share whose speaker
  matches one of them ("right-speaker share").

Everything is reported overall, on the attributions whose cue is a verb of speech, and per rule
(the rule that found the system's speaker). The texts stay in `../shared/`: nothing is copied.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _words(text: str) -> list[str]:
    return text.split()


#: Verbs of speech (README: "say, tell, add, announce, claim, ..."): an attribution whose cue holds
#: one of their forms is in the speech subset. A definition of the measure, not of the system.
SPEECH_VERBS = _words(
    "say tell add announce claim state declare explain note write tweet insist argue warn reply respond ask "
    "report comment acknowledge admit deny confirm reveal recall mention testify quip joke complain predict "
    "promise vow pledge urge assert remark interject mock shout concede contend allege describe call continue "
    "quote caution stress emphasize emphasise repeat boast lament tout"
)
_IRREGULAR = {"said", "told", "wrote", "written", "says", "tells"}
#: Words that never decide whether two names are the same source.
_FUNCTION_WORDS = frozenset(
    _words(
        "a an the this that these those his her its their our my your whose which who whom "
        "he she it they we i you him them us me one ones "
        "of in on at by for from with to into about as over under after before between among via and or 's ’s s"
    )
)
_TITLES = frozenset(
    _words(
        "mr mrs ms miss dr sen senator rep representative gov governor pres president prof sir lady lord "
        "gen general col lt sgt capt rev st jr sr"
    )
)


def _forms(lemma: str) -> set[str]:
    """Inflected forms of a regular verb (a superset is harmless: only cue words are looked up)."""
    forms = {lemma, lemma + "s", lemma + "es", lemma + "ed", lemma + "d", lemma + "ing"}
    forms |= {lemma + lemma[-1] + "ed", lemma + lemma[-1] + "ing"}
    if lemma.endswith("e"):
        forms.add(lemma[:-1] + "ing")
    if lemma.endswith("y"):
        forms |= {lemma[:-1] + "ied", lemma[:-1] + "ies"}
    return forms


SPEECH_FORMS = frozenset(_IRREGULAR.union(*(_forms(v) for v in SPEECH_VERBS)))


def is_speech_cue(cue: str | None) -> bool:
    """Whether a gold cue is a verb of speech ("said", "told reporters", "has argued")."""
    return cue is not None and any(w in SPEECH_FORMS for w in re.findall(r"[a-z]+", cue.lower()))


def content_words(name: str, *, titles: bool = False) -> set[str]:
    """The words that identify a source: lower-cased, possessives off, function words and titles out.

    With `titles`, titles stay: a source that is only a title ("the senator") is matched on it.
    """
    words = set()
    for w in re.findall(r"[\w'’.-]+", name.lower()):
        w = re.sub(r"['’]s?$", "", w).strip(".-'’")
        if w and w not in _FUNCTION_WORDS and (titles or w not in _TITLES):
            words.add(w)
    return words


@dataclass
class Tally:
    """Counts for one group of attributions (overall, speech cues, or one rule)."""

    named: int = 0
    named_right: int = 0
    pronoun: int = 0
    pronoun_named: int = 0
    sourced: int = 0
    missed: int = 0

    def add(self, gold: dict[str, Any], speaker: Any) -> None:
        """Count one gold attribution against the system's speaker for its content."""
        narrator = speaker is None or speaker.kind != "source"
        self.sourced += 1
        self.missed += narrator
        if gold["source_is_pronoun"]:
            self.pronoun += 1
            self.pronoun_named += not narrator
        else:
            self.named += 1
            self.named_right += not narrator and speaker_is(speaker, gold["source"])

    def to_dict(self) -> dict[str, Any]:
        """Counts and the measures they give."""
        return {
            "named": self.named,
            "source_accuracy": _ratio(self.named_right, self.named),
            "pronoun": self.pronoun,
            "pronoun_named": _ratio(self.pronoun_named, self.pronoun),
            "sourced": self.sourced,
            "missed": _ratio(self.missed, self.sourced),
        }


@dataclass
class Precision:
    """Sentences given to a source: how many hold gold content, and how many name its source."""

    attributed: int = 0
    with_content: int = 0
    checkable: int = 0
    right: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Counts and the two precision shares."""
        return {
            "attributed_sentences": self.attributed,
            "precision": _ratio(self.with_content, self.attributed),
            "right_speaker_share": _ratio(self.right, self.checkable),
        }


@dataclass
class PolnearReport:
    """The four measures on one split, overall, on speech cues and per rule."""

    split: str
    articles: int = 0
    seconds: float = 0.0
    overall: Tally = field(default_factory=Tally)
    speech: Tally = field(default_factory=Tally)
    rules: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    precision: Precision = field(default_factory=Precision)
    speech_precision: Precision = field(default_factory=Precision)
    rule_precision: dict[str, Precision] = field(default_factory=lambda: defaultdict(Precision))

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-ready data."""
        return {
            "split": self.split,
            "articles": self.articles,
            "seconds_per_article": round(self.seconds / self.articles, 4) if self.articles else None,
            "overall": {**self.overall.to_dict(), **self.precision.to_dict()},
            "speech_cues": {**self.speech.to_dict(), **self.speech_precision.to_dict()},
            "rules": {
                rule: {**self.rules[rule].to_dict(), **self.rule_precision[rule].to_dict()}
                for rule in sorted(set(self.rules) | set(self.rule_precision))
            },
        }

    def format_text(self) -> str:
        """A short table for the terminal."""
        d = self.to_dict()
        lines = [
            f"PolNeAR {self.split}: {self.articles} articles, {d['seconds_per_article']} s/article",
            f"{'group':<22} {'named':>6} {'src acc':>8} {'pron':>5} {'pron→name':>9} {'missed':>7} "
            f"{'sents':>6} {'precision':>9} {'right spk':>9}",
        ]
        rows = [("overall", d["overall"]), ("speech cues", d["speech_cues"])]
        rows += [(f"rule {rule}", figures) for rule, figures in d["rules"].items()]
        for name, f in rows:
            lines.append(
                f"{name:<22} {f['named']:>6} {_fmt(f['source_accuracy']):>8} {f['pronoun']:>5} "
                f"{_fmt(f['pronoun_named']):>9} {_fmt(f['missed']):>7} {f['attributed_sentences']:>6} "
                f"{_fmt(f['precision']):>9} {_fmt(f['right_speaker_share']):>9}"
            )
        return "\n".join(lines)


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def speaker_is(speaker: Any, source: str) -> bool:
    """Whether a system speaker (name, full name, description said as) shares a content word with a gold source."""
    # A description resolved to a name ("the governor" → Chris Christie) is matched on both.
    ours = f"{speaker.name} {speaker.full_name or ''} {getattr(speaker, 'said_as', None) or ''}"
    theirs = content_words(source)
    if not theirs:  # "the senator", "the governor": only a title to go by
        return bool(content_words(ours, titles=True) & content_words(source, titles=True))
    return bool(content_words(ours) & theirs)


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def load_gold(split_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Gold attributions by article id."""
    gold: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with (split_dir / "gold.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            item = json.loads(line)
            gold[item["article"]].append(item)
    return gold


def score_article(report: PolnearReport, sentences: list[Any], gold: Iterable[dict[str, Any]]) -> None:
    """Add one article's attributions and sentences to the report."""
    spans = [(s.start, s.end) for s in sentences]
    gold = list(gold)
    for item in gold:
        if item["source"] is None:
            continue
        content = [tuple(span) for span in item.get("content_spans") or [(item["content_start"], item["content_end"])]]
        cover: dict[int, int] = defaultdict(int)
        for i, span in enumerate(spans):
            for c in content:
                cover[i] += _overlap(span, c)
        best = max(cover, key=lambda i: cover[i], default=None)
        speaker = sentences[best].speaker if best is not None and cover[best] > 0 else None
        report.overall.add(item, speaker)
        if is_speech_cue(item["cue"]):
            report.speech.add(item, speaker)
        report.rules[speaker.rule if speaker is not None else "none"].add(item, speaker)
    for s in sentences:
        if s.speaker.kind != "source":
            continue
        holding = [g for g in gold if any(_overlap((s.start, s.end), tuple(c)) for c in g.get("content_spans") or [])]
        named = [g for g in holding if g["source"] and not g["source_is_pronoun"]]
        right = any(speaker_is(s.speaker, g["source"]) for g in named)
        groups = [report.precision, report.rule_precision[s.speaker.rule]]
        if any(is_speech_cue(g["cue"]) for g in holding):
            groups.append(report.speech_precision)
        for p in groups:
            p.attributed += 1
            p.with_content += bool(holding)
            if named:
                p.checkable += 1
                p.right += right


def evaluate_split(
    split_dir: Path, limit: int | None = None, progress: bool = False, parse_cache: Path | None = None
) -> PolnearReport:
    """Attribute every article of a PolNeAR split (or the first `limit`) and score it.

    With `parse_cache` (a file in an ignored folder such as `.cache/`), parses are read from and
    saved to it, so repeated runs while developing skip the parser; `seconds` then excludes parsing.
    """
    from bot.corpus.files import load_article
    from bot.corpus.normalise import body_of
    from bot.text import parse
    from bot.text.passages import body_sentences

    if parse_cache is not None:
        parse.load_cache(parse_cache)

    gold = load_gold(split_dir)
    files = sorted((split_dir / "corpus").glob("*.md"))[: limit or None]
    report = PolnearReport(split=split_dir.name)
    for n, path in enumerate(files, 1):
        started = time.perf_counter()
        article = load_article(path)
        sentences = body_sentences(article, body_of(path.read_text(encoding="utf-8")))
        report.seconds += time.perf_counter() - started
        report.articles += 1
        score_article(report, sentences, gold.get(path.stem, []))
        if progress and n % 50 == 0:
            print(f"  {n}/{len(files)} articles", flush=True, file=sys.stderr)
    if parse_cache is not None:
        parse.save_cache(parse_cache)
    return report

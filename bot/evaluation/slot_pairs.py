"""Weakly supervised (question, sentence, label) pairs for pre-training the answer-slot check (issue 19).

Why: the slot check (`bot/retrieval/slot_check.py`) is fine-tuned on ~2,300 human pairs from 45
PolNeAR train articles, and what it must learn is fine-grained: "How many firefighters were
killed?" is not answered by "Seven firefighters were treated", nor "How many children were
vaccinated?" by "aims to vaccinate 1.2 million children", nor "When will repairs begin?" by "the
council said on Monday". The parse already reads which noun a number counts, which verb it hangs
from, whether that verb is a goal (`bot/text/slots.py`) and which verb a date modifies; PolNeAR's
gold attributions give each sentence's speaker. So, from train articles that no labelled question
uses, this module writes questions whose slot the sentence fills (positives) and, over the *same*
sentence, questions with one slot swapped (hard negatives):

- counts: "How many <noun> were <participle>?" / "How many <noun> did <subject> <verb>?" /
  "How many <noun> <past verb>?"; negatives swap the verb (another verb of the article), the
  counted noun (another counted noun of the article), ask a done count over a goal ("aims to",
  "plans to", "could"), or pair the question with another sentence of the article counting
  something for another event;
- dates: "When did <subject> <verb>?"; negatives ask for the event of a clause whose date belongs
  to the reporting verb ("said on Monday that ..."), swap the verb, or pair the question with a
  sentence dating another event;
- speakers: "What did <source> say about <topic>?"; negatives ask another source of the article,
  or pair the question with the publisher's own sentence about the topic.

Every question is rendered by one of several templates (full and terse forms), and a negative uses
the same template as its positive, so the label cannot be read off the question's form.
A sentence's counts, dated events and topics are read by `slot_reading`; its speaker, from PolNeAR's
gold, by `pair_sources`. Generation is deterministic (choices by a hash of the article and sentence, no global random
state) so that a cached file can be checked against its inputs. The query path never imports this.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.evaluation.pair_sources import ORG_WORDS, article_sentences, attributed, speakers_by_sentence
from bot.evaluation.slot_reading import Count, content_verbs, counts, dated_events, topics

#: Bumped whenever the pairs change for the same articles: the cache key includes it.
#: 2: the items kept per article are chosen by a hash of their fields, not of their Python repr (which
#: changed with a class name); same rules, another sample. The pre-training measured in
#: docs/quality.md used version 1 (commit 675d5d6).
GENERATOR_VERSION = 2
#: Items (one positive each, with its negatives) kept per article and kind: the 795 unused train
#: articles then give several thousand pairs without one long article dominating. Counts are rarer
#: in political news than quotes, and they are the issue's near misses: more of them are kept.
ITEMS_PER_ARTICLE = {"count": 6, "date": 3, "say": 2}


@dataclass(frozen=True)
class Pair:
    """One training pair: `label` 1.0 when `sentence` fills the slot `question` asks for."""

    question: str
    sentence: str
    label: float
    kind: str  # count, date, say (the slot)
    why: str  # positive, verb_swap, noun_swap, goal, reporting_date, other_sentence, other_speaker, unattributed
    article: str


@dataclass
class _Sentence:
    text: str
    doc: Any
    speaker: str | None = None
    lemmas: frozenset[str] = field(default_factory=frozenset)


def _pick(options: Sequence[Any], *key: object) -> Any:
    """A deterministic choice: the same key picks the same option in every run."""
    digest = hashlib.sha256(json.dumps([str(k) for k in key]).encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


# --- templates: a positive and its negatives share one --------------------------------------------

_COUNT_TEMPLATES: dict[str, list[Callable[[str, str, str], str]]] = {
    "passive": [
        lambda n, v, s: f"How many {n} were {v}?",
        lambda n, v, s: f"How many {n} have been {v}?",
        lambda n, v, s: f"how many {n} {v}",
        lambda n, v, s: f"number of {n} {v}",
        lambda n, v, s: f"What was the number of {n} {v}?",
        lambda n, v, s: f"{n} {v}?",
    ],
    "object": [
        lambda n, v, s: f"How many {n} did {s} {v}?",
        lambda n, v, s: f"how many {n} did {s} {v}",
        lambda n, v, s: f"What number of {n} did {s} {v}?",
        lambda n, v, s: f"{s} {v} how many {n}",
    ],
    "intransitive": [
        lambda n, v, s: f"How many {n} {v}?",
        lambda n, v, s: f"how many {n} {v}",
        lambda n, v, s: f"number of {n} who {v}",
        lambda n, v, s: f"What number of {n} {v}?",
    ],
}
#: Asking for a goal as a goal: "How many children does the campaign aim to vaccinate?" (positive).
_GOAL_TEMPLATES: dict[str, list[Callable[[str, str, str, str], str]]] = {
    "passive": [lambda n, v, s, m: f"How many {n} {m} be {v}?", lambda n, v, s, m: f"how many {n} {m} be {v}"],
    "object": [lambda n, v, s, m: f"How many {n} {m} {s} {v}?", lambda n, v, s, m: f"how many {n} {m} {s} {v}"],
    "intransitive": [],
}
_DATE_TEMPLATES: dict[str, list[Callable[[str, str], str]]] = {
    "past": [
        lambda s, v: f"When did {s} {v}?",
        lambda s, v: f"when did {s} {v}",
        lambda s, v: f"On what date did {s} {v}?",
    ],
    "future": [
        lambda s, v: f"When will {s} {v}?",
        lambda s, v: f"when will {s} {v}",
        lambda s, v: f"By when will {s} {v}?",
    ],
    "passive": [
        lambda s, v: f"When BE {s} {v}?",
        lambda s, v: f"when BE {s} {v}",
        lambda s, v: f"date {s} {v}",
    ],
}
_SAY_TEMPLATES: list[Callable[[str, str], str]] = [
    lambda x, t: f"What did {x} say about {t}?",
    lambda x, t: f"what did {x} say about {t}",
    lambda x, t: f"What has {x} said on {t}?",
    lambda x, t: f"{x} on {t}",
    lambda x, t: f"What does {x} think about {t}?",
    lambda x, t: f"{x}'s comments about {t}",
]


def _order(*key: object) -> str:
    """A stable pseudo-random order of an article's items (which ones are kept when there are many)."""
    return hashlib.sha256("|".join(map(str, key)).encode()).hexdigest()


def _goal_question(c: Count, key: tuple[object, ...]) -> str | None:
    """A goal asked as a goal ("How many children does the campaign aim to vaccinate?"), or None."""
    if c.form == "object" and c.intent and c.subject:
        does = "do" if c.plural_subject or c.subject in ("they", "we") else "does"
        return str(
            _pick(
                [
                    f"How many {c.noun} {does} {c.subject} {c.intent} to {c.surface}?",
                    f"how many {c.noun} {does} {c.subject} {c.intent} to {c.surface}",
                ],
                *key,
            )
        )
    if c.modal and _GOAL_TEMPLATES[c.form]:
        return str(_pick(_GOAL_TEMPLATES[c.form], *key)(c.noun, c.surface, c.subject or "", c.modal))
    return None


def _render_count(c: Count, key: tuple[object, ...], noun: str | None = None, verb: str | None = None) -> str:
    template = _pick(_COUNT_TEMPLATES[c.form], *key)
    return str(template(noun or c.noun, verb or c.surface, c.subject or ""))


# --- one article ----------------------------------------------------------------------------------


def article_pairs(stem: str, sentences: list[tuple[str, Any, str | None, bool]]) -> list[Pair]:
    """The pairs of one article: (text, parse, named speaker or None, attributed at all) per sentence."""
    sents = [
        _Sentence(text, doc, speaker, frozenset(t.lemma_.lower() for t in doc)) for text, doc, speaker, _ in sentences
    ]
    said = [a for _, _, _, a in sentences]
    pairs: list[Pair] = []
    pairs += _count_pairs(stem, sents)
    pairs += _date_pairs(stem, sents)
    pairs += _say_pairs(stem, sents, said)
    return pairs


def _verb_pools(sents: list[_Sentence]) -> dict[str, list[str]]:
    """The article's content verbs in each surface form a template needs (no inflection is guessed)."""
    pools: dict[str, set[str]] = {"vbn": set(), "lemma": set(), "vbd": set()}
    for s in sents:
        for t in content_verbs(s.doc):
            pools["lemma"].add(t.lemma_.lower())
            if t.tag_ == "VBN":
                pools["vbn"].add(t.lower_)
            if t.tag_ == "VBD":
                pools["vbd"].add(t.lower_)
    return {k: sorted(v) for k, v in pools.items()}


def _lemma_of_surface(sents: list[_Sentence]) -> dict[str, str]:
    return {t.lower_: t.lemma_.lower() for s in sents for t in content_verbs(s.doc)}


def _events_first(verbs: list[str], events: set[str], lemma_of: dict[str, str]) -> list[str]:
    """The verbs of counted or dated events of the article if any ("killed" for "treated"), else all."""
    return [v for v in verbs if lemma_of.get(v, v) in events] or verbs


def _event_lemmas(sents: list[_Sentence]) -> set[str]:
    return {c.verb for s in sents for c in counts(s.doc)} | {d.verb for s in sents for d in dated_events(s.doc)}


def _count_pairs(stem: str, sents: list[_Sentence]) -> list[Pair]:
    found = [(i, c) for i, s in enumerate(sents) for c in counts(s.doc)]
    if not found:
        return []
    events = _event_lemmas(sents)
    pools = _verb_pools(sents)
    lemma_of = _lemma_of_surface(sents)
    pool_key = {"passive": "vbn", "object": "lemma", "intransitive": "vbd"}
    nouns = sorted({(c.noun, c.noun_lemma) for _, c in found})
    pairs: list[Pair] = []
    chosen = sorted(found, key=lambda ic: _order(stem, ic[0], ic[1].noun, ic[1].verb, ic[1].form))
    for i, c in chosen[: ITEMS_PER_ARTICLE["count"]]:
        s = sents[i]
        key = (stem, i, c.noun, c.verb)
        if c.goal:
            # A done count asked over a goal: the near miss the slots' irrealis flag names.
            if c.form == "object" or c.form == "passive":
                pairs.append(Pair(_render_count(c, key), s.text, 0.0, "count", "goal", stem))
            asked = _goal_question(c, key)
            if asked:
                pairs.append(Pair(asked, s.text, 1.0, "count", "positive", stem))
            continue
        question = _render_count(c, key)
        pairs.append(Pair(question, s.text, 1.0, "count", "positive", stem))
        others = [v for v in pools[pool_key[c.form]] if lemma_of.get(v, v) not in s.lemmas and v != c.surface]
        if others:
            verb = _pick(_events_first(others, events, lemma_of), *key, "verb")
            pairs.append(Pair(_render_count(c, key, verb=verb), s.text, 0.0, "count", "verb_swap", stem))
        other_nouns = [n for n, lemma in nouns if lemma not in s.lemmas and n != c.noun]
        if other_nouns:
            noun = _pick(other_nouns, *key, "noun")
            pairs.append(Pair(_render_count(c, key, noun=noun), s.text, 0.0, "count", "noun_swap", stem))
        # The same question over another sentence of the article that counts something for another
        # event: the asked noun for another verb first ("four Americans killed" for "wounded").
        elsewhere = [
            (j, d)
            for j, d in found
            if j != i
            and c.verb not in sents[j].lemmas
            and (d.noun_lemma == c.noun_lemma or c.noun_lemma not in sents[j].lemmas)
        ]
        same_noun = [jd for jd in elsewhere if jd[1].noun_lemma == c.noun_lemma]
        if same_noun or elsewhere:
            j, _ = _pick(same_noun or elsewhere, *key, "sentence")
            pairs.append(Pair(question, sents[j].text, 0.0, "count", "other_sentence", stem))
    return pairs


def _date_pairs(stem: str, sents: list[_Sentence]) -> list[Pair]:
    found = [(i, d) for i, s in enumerate(sents) for d in dated_events(s.doc)]
    if not found:
        return []
    events = _event_lemmas(sents)
    pools = _verb_pools(sents)
    lemma_of = _lemma_of_surface(sents)
    pairs: list[Pair] = []
    chosen = sorted(found, key=lambda ie: _order(stem, ie[0], ie[1].verb, ie[1].subject, ie[1].reporting))
    dated_sentences = {i for i, d in found if not d.reporting}
    for i, d in chosen[: ITEMS_PER_ARTICLE["date"]]:
        s = sents[i]
        key = (stem, i, d.verb, d.subject)
        template = _pick(_DATE_TEMPLATES[d.form], *key)
        question = str(template(d.subject, d.surface)).replace("BE", d.be)
        if d.reporting:
            # "The council said on Monday that the bridge needs repairs": the date is the report's.
            pairs.append(Pair(question, s.text, 0.0, "date", "reporting_date", stem))
            continue
        pairs.append(Pair(question, s.text, 1.0, "date", "positive", stem))
        pool = pools["vbn" if d.form == "passive" else "lemma"]
        others = [v for v in pool if lemma_of.get(v, v) not in s.lemmas and v != d.surface]
        if others:
            swapped = str(template(d.subject, _pick(_events_first(others, events, lemma_of), *key, "verb"))).replace(
                "BE", d.be
            )
            pairs.append(Pair(swapped, s.text, 0.0, "date", "verb_swap", stem))
        elsewhere = [j for j in sorted(dated_sentences) if j != i and d.verb not in sents[j].lemmas]
        if elsewhere:
            pairs.append(
                Pair(question, sents[_pick(elsewhere, *key, "sentence")].text, 0.0, "date", "other_sentence", stem)
            )
    return pairs


def _say_pairs(stem: str, sents: list[_Sentence], said: list[bool]) -> list[Pair]:
    speakers = sorted({s.speaker for s in sents if s.speaker})
    candidates = [(i, s) for i, s in enumerate(sents) if s.speaker and topics(s.doc, s.speaker)]
    pairs: list[Pair] = []
    chosen = sorted(candidates, key=lambda i_s: _order(stem, i_s[0]))
    for i, s in chosen[: ITEMS_PER_ARTICLE["say"]]:
        assert s.speaker is not None
        key = (stem, i, s.speaker)
        topic = _pick(topics(s.doc, s.speaker), *key, "topic")
        parts = s.speaker.split()
        person = 2 <= len(parts) <= 3 and parts[-1].lower() not in ORG_WORDS
        name = parts[-1] if person and _pick([True, False], *key, "surname") else s.speaker
        template = _pick(_SAY_TEMPLATES, *key)
        pairs.append(Pair(template(name, topic), s.text, 1.0, "say", "positive", stem))
        words = {w.lower() for w in s.text.split()}
        others = [
            y
            for y in speakers
            if y != s.speaker
            and not ({w.lower() for w in y.split()} & ({w.lower() for w in s.speaker.split()} | words))
        ]
        if others:
            other = _pick(others, *key, "other")
            pairs.append(Pair(template(other, topic), s.text, 0.0, "say", "other_speaker", stem))
        # The publisher's own sentence about the topic: the topic is there, the speaker's words are not.
        head = topic.split()[-1].lower()
        own = [j for j, t in enumerate(sents) if not said[j] and head in t.text.lower() and j != i]
        if own:
            pairs.append(
                Pair(template(name, topic), sents[_pick(own, *key, "own")].text, 0.0, "say", "unattributed", stem)
            )
    return pairs


# --- the whole set --------------------------------------------------------------------------------


def used_articles(question_files: Iterable[Path]) -> set[str]:
    """Every article a labelled question names: the generator never reads those."""
    used: set[str] = set()
    for path in question_files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                used.add(json.loads(line)["article"])
    return used


def generate(
    corpus: Path, gold_file: Path, exclude: set[str], log: Callable[[str], None] = lambda _: None
) -> list[Pair]:
    """Pairs from every article of `corpus` not in `exclude`, in a fixed order."""
    from bot.corpus.normalise import body_of
    from bot.text.parse import parse

    gold: dict[str, list[dict[str, Any]]] = {}
    for line in gold_file.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            gold.setdefault(row["article"], []).append(row)
    stems = sorted(p.stem for p in corpus.glob("*.md") if p.stem not in exclude)
    pairs: list[Pair] = []
    for n, stem in enumerate(stems):
        body = body_of((corpus / f"{stem}.md").read_text(encoding="utf-8"))
        spans = article_sentences(body)
        rows = gold.get(stem, [])
        speakers = speakers_by_sentence(spans, rows)
        said = attributed(spans, rows)
        docs = parse([text for _, _, text in spans])
        pairs += article_pairs(
            stem, [(t, doc, sp, a) for (_, _, t), doc, sp, a in zip(spans, docs, speakers, said, strict=True)]
        )
        if (n + 1) % 100 == 0:
            log(f"{n + 1}/{len(stems)} articles, {len(pairs)} pairs")
    return pairs


def cache_key(corpus: Path, gold_file: Path, exclude: set[str]) -> str:
    """What the cached pairs depend on: the generator's version, the articles read and their gold."""
    h = hashlib.sha256(f"v{GENERATOR_VERSION}".encode())
    h.update(gold_file.read_bytes())
    for path in sorted(corpus.glob("*.md")):
        if path.stem not in exclude:
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def cached_pairs(
    corpus: Path, gold_file: Path, exclude: set[str], cache: Path, log: Callable[[str], None] = lambda _: None
) -> tuple[list[Pair], Path]:
    """The pairs, from `cache/slot-pairs-<key>.jsonl` when generated before, else generated and written there."""
    path = cache / f"slot-pairs-{cache_key(corpus, gold_file, exclude)}.jsonl"
    if path.is_file():
        return [
            Pair(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
        ], path
    pairs = generate(corpus, gold_file, exclude, log)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(p.__dict__, ensure_ascii=False) + "\n" for p in pairs), encoding="utf-8")
    tmp.replace(path)
    return pairs, path

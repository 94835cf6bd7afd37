"""Who said it: a speaker for every sentence, read from a dependency parse.

A sentence is attributed when it holds a *cue* outside quotation marks: a verb whose lemma the
lexicon learned from PolNeAR train lists (`bot/data/cues.json`, fitted by `scripts/learn_cues.py`:
say, tell, add, argue, tweet, warn, ...), or "according to". The *source* is read from the parse
around the cue, not from word order:

- the cue's subject (`X said`, `said X`), with its compounds, titles and modifiers; an apposition
  gives the name when the subject is a description ("The harbour master, Jane Doe, told") and
  is left out when it describes a name ("Priorities USA, the main super PAC, says");
- through the clause the cue hangs from: "X was quoted as saying", "X has denounced the deal and
  said", "X, who said", "X is expected to announce";
- the object of "according to"; the agent of a passive ("was announced by X").

Phrases that are not the subject never become the speaker, whatever their place: "at a hearing"
after the verb, "As for the proposals," before it, ", 92," or ", Republican of Iowa," beside the
name. Nouns are not cues ("compensation claims must be filed").

Across the article (`Attributor`): a pronoun or a definite description ("she said", "the
ministry said", "the spokesman added") takes the last compatible named source within a bounded
window: "he"/"she" a person of that gender (from titles, first names learned from train, and
pronouns already resolved to them), "it" an organisation, "they" a group or organisation, never
"he" a group. A quotation running over sentences and paragraphs belongs as a whole to whoever its
sentences name; cue verbs inside quotation marks are the quoted words, not a new attribution.
No source means the publisher's own words. Captions are the publisher's, with the photo credit.

The pieces: `speaker.py` (the `Speaker`, all the query path needs), `cues.py` (the learned
lexicons and quotation marks), `clauses.py` (one sentence's cue and source), `names.py` (a
source's name, kind and gender from the parse); this module carries the article-wide memory.
spaCy is only loaded (by `bot.text.parse`) when an `Attributor` parses.
"""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

from bot.text.clauses import Found, in_quote, is_tail, read_sentence_all
from bot.text.cues import (
    ARTICLE_SECONDS,
    LOOKBACK_SENTENCES,
    MAX_QUOTE_SENTENCES,
    MAX_SENTENCES_PER_PARAGRAPH,
    PARSE_CHUNK,
    quote_mask,
)
from bot.text.names import ACRONYM, PRONOUNS, Mention, gender_of, name_tokens, phrase_text, surnames
from bot.text.speaker import Speaker


@dataclass(frozen=True)
class _Line:
    """Where a sentence stands towards quotation marks (for `Attributor._quotations`)."""

    block: int
    index: int
    open_start: bool
    open_end: bool
    marks: bool
    first: bool
    starts_quoted: bool
    ends_colon: bool


class Attributor:
    """Attributes the sentences of one article in reading order.

    Holds what the article has said so far: acronyms it introduced ("(SOHR)"), the named sources
    and people a later pronoun or description may mean, the quotation still open and who said it.
    """

    def __init__(self, publisher: str) -> None:
        self.publisher = Speaker(publisher, kind="publisher", rule="publisher")
        self.acronyms: dict[str, str] = {}
        self.short_forms: dict[str, str] = {}
        #: (block, sentence) → [(character offset in the sentence, speaker of the clause from there)].
        self.clauses: dict[tuple[int, int], list[tuple[int, Speaker]]] = {}
        self.mentions: deque[Mention] = deque(maxlen=64)
        self.clock = 0
        self._tick = 0
        self.last_quoted: Speaker | None = None
        self.started = time.monotonic()

    # -- public interface --

    def paragraph(
        self, sentences: list[str], caption_credit: str | None = None, *, caption: bool = False
    ) -> list[Speaker]:
        """Speakers for the sentences of one paragraph (or caption)."""
        return self.article([(sentences, caption_credit, caption)])[0]

    def article(self, blocks: list[tuple[list[str], str | None, bool]]) -> list[list[Speaker]]:
        """Speakers for the sentences of several blocks (sentences, caption credit, is caption).

        All sentences are parsed in one batch; a quotation may run from one block into the next.
        """
        from bot.text.parse import nlp, parse

        # The parser's one-time load is the process's cost, not this article's: on a loaded machine
        # it took longer than the whole budget (52 s at load 10), and the first article of a build
        # went unattributed.
        loading = time.monotonic()
        nlp()
        self.started += time.monotonic() - loading
        wanted = [s for sentences, _, caption in blocks if not caption for s in sentences[:MAX_SENTENCES_PER_PARAGRAPH]]
        # Parsed in chunks while the article's time budget lasts; what is left is not parsed.
        parsed_all: list[Any] = []
        for at in range(0, len(wanted), PARSE_CHUNK):
            if time.monotonic() - self.started > ARTICLE_SECONDS:
                break
            parsed_all.extend(parse(wanted[at : at + PARSE_CHUNK]))
        docs = iter(parsed_all)
        found: list[list[Speaker | None]] = []
        flat: list[_Line] = []
        for b, (sentences, credit, caption) in enumerate(blocks):
            if caption:
                found.append([Speaker("Photo caption", kind="caption", via=credit, rule="caption") for _ in sentences])
                continue
            parsed = [d for d in (next(docs, None) for _ in sentences[:MAX_SENTENCES_PER_PARAGRAPH]) if d is not None]
            found.append(self._read_paragraph(sentences, parsed, b, flat))
        self._quotations(flat, found)
        return [[s or self.publisher for s in block] for block in found]

    def _read_paragraph(
        self, sentences: list[str], docs: list[Any], block: int, flat: list[_Line]
    ) -> list[Speaker | None]:
        found: list[Speaker | None] = []
        open_quote = False
        for i, sentence in enumerate(sentences):
            starts_quoted = sentence.lstrip()[:1] in "\"“'`"
            ends_colon = sentence.rstrip().endswith(":")
            if i >= len(docs) or time.monotonic() - self.started > ARTICLE_SECONDS:
                found.append(None)  # past the caps: the publisher's words, without parsing
                flat.append(_Line(block, i, False, False, False, i == 0, starts_quoted, ends_colon))
                continue
            mask, open_end, marks = quote_mask(sentence, open_quote)
            flat.append(_Line(block, i, open_quote, open_end, marks, i == 0, starts_quoted, ends_colon))
            self.clock += 1
            self._tick = 0
            self._note_acronyms(sentence)
            candidates = list(read_sentence_all(docs[i], mask, marks or open_quote))
            # People named as subjects may be a later "she said", and one named before a pronoun
            # in the same sentence its antecedent ("Feyisa Lilesa, who won the silver, ... he
            # says"); they are noted before the speaker, who stays the latest mention.
            pronoun_at = next((f.head.i for f in candidates if f.pronoun is not None), None)
            self._note_people(docs[i], mask, before=pronoun_at)
            speaker = None
            for f in candidates:
                speaker = self._resolve(f)
                if speaker is not None:
                    self._split_clauses(block, i, docs[i], f, candidates, speaker)
                    break
            found.append(speaker)
            open_quote = open_end
        return found

    def _split_clauses(
        self, block: int, index: int, doc: Any, chosen: Found, candidates: list[Found], speaker: Speaker
    ) -> None:
        """Record where a second source's clause starts ("X said ..., while Y argued ...").

        A later cue whose clause runs, after a comma or semicolon, from its first word to the
        sentence's end and names another source gets that part of the sentence
        (`Attributor.clauses`): each clause is quoted with its own speaker.
        """
        main = chosen.cue_token
        for other in candidates:
            cue = other.cue_token
            if other is chosen or cue is None or main is None or cue.i <= main.i:
                continue
            # A clause beside the main cue's ("..., and Cruz warned"), or hung by the parser on its
            # content's verb ("said the plan was late, while Brandt argued"), with a subject of its own.
            contrast = any(
                c.dep_ == "mark" and c.lower_ in ("while", "whereas", "although", "though") for c in cue.children
            )
            beside = cue.head.i == main.i or (contrast and cue.head.dep_ == "ccomp" and cue.head.head.i == main.i)
            if cue.dep_ not in ("advcl", "conj", "parataxis") or not beside or is_tail(cue):
                continue
            if other.rule not in ("subject", "inverted", "passive", "according-to") or other.pronoun is not None:
                continue  # ", but he refuses": most often the same speaker, and never worth a cut
            left = cue.left_edge
            if left.i <= main.i or any(not (t.is_punct or t.is_space) for t in doc[cue.right_edge.i + 1 :]):
                continue
            if doc[left.i - 1].text not in (",", ";", "—") and doc[left.i - 1].pos_ != "CCONJ":
                continue
            second = self._resolve(other)
            if second is None or second.name == speaker.name or (surnames(second.name) & surnames(speaker.name)):
                continue
            start = doc[left.i - 1].idx if doc[left.i - 1].pos_ == "CCONJ" else left.idx
            self.clauses.setdefault((block, index), []).append((start, second))
            return

    def _quotations(self, lines: list[_Line], found: list[list[Speaker | None]]) -> None:
        """Give every sentence of a quotation its speaker, across sentences and paragraphs.

        A quotation is the run of sentences from an opening mark to its closing one; a paragraph
        that ends inside a quotation continues it when the next paragraph opens with a quotation
        mark (the news convention). Its speaker is whoever one of its sentences names; a quotation
        that names nobody goes on the source of the sentence just before it ("X released the
        following statement:"), else on whoever was quoted last. Past `MAX_QUOTE_SENTENCES` a
        quotation is cut: a stray mark must not hand a whole article to one speaker.
        """
        groups: list[list[_Line]] = []
        current: list[_Line] = []
        for line in lines:
            if current and line.first and not line.starts_quoted:
                groups.append(current)  # a new paragraph that does not continue the quotation
                current = []
            current.append(line)
            if not line.open_end or len(current) >= MAX_QUOTE_SENTENCES:
                groups.append(current)
                current = []
        if current:
            groups.append(current)
        previous: Speaker | None = None
        for group in groups:
            owner = next((found[g.block][g.index] for g in group if found[g.block][g.index] is not None), None)
            if owner is None and group[0].starts_quoted:
                # "X released the following statement:" / "X said ..." and then the quotation.
                before = previous or self.last_quoted
                owner = replace(before, rule="continued-quote") if before is not None else None
            for g in group:
                if found[g.block][g.index] is None and owner is not None:
                    found[g.block][g.index] = owner if owner.rule == "continued-quote" else replace(owner, rule="quote")
            for g in group:
                speaker = found[g.block][g.index]
                if speaker is not None and (g.marks or g.open_start or g.ends_colon):
                    self.last_quoted = speaker
            previous = found[group[-1].block][group[-1].index]

    # -- names --

    def _note_acronyms(self, sentence: str) -> None:
        for match in ACRONYM.finditer(sentence):
            full = re.sub(r"^the\s+", "", match.group("full"), flags=re.I)
            self.acronyms[match.group("short")] = full
            # The parse names the source by its full name ("World Health Organization (WHO) said"),
            # or only its last words ("election monitor Civic Watch Network").
            words = full.split()
            for k in range(len(words)):
                self.short_forms.setdefault(" ".join(words[k:]), match.group("short"))
            for k in range(2, len(words)):
                self.short_forms.setdefault(" ".join(words[:k]), match.group("short"))

    def _note_people(self, doc: Any, mask: list[bool], before: int | None = None) -> None:
        """Note the subjects (before token `before`) a later pronoun may mean.

        People for "she said", organisations for "it said", groups and coordinated names ("Cruz
        and Trump") for "they".
        """
        for tok in doc:
            if (
                tok.dep_ not in ("nsubj", "nsubjpass")
                or in_quote(tok, mask)
                or (before is not None and tok.i >= before)
            ):
                continue
            if tok.pos_ not in ("PROPN", "NOUN"):
                continue
            conjoined = any(c.dep_ == "conj" for c in tok.children)
            if conjoined:
                tokens = sorted(
                    [tok, *(t for c in tok.children if c.dep_ == "conj" for t in c.subtree)], key=lambda t: t.i
                )
                tokens = [t for t in tokens if not t.is_punct or t.text == "&"]
                if any(t.ent_type_ in ("PERSON", "ORG", "NORP") for t in tokens):
                    self._remember(Speaker(phrase_text(tokens), rule="subject"), "group", None, set())
                continue
            label = tok.ent_type_
            if label == "PERSON":
                tokens = name_tokens(tok)
                if any(t.dep_ == "cc" for t in tokens):  # "Manafort and business associate Rick Gates"
                    self._remember(Speaker(phrase_text(tokens), rule="subject"), "group", None, set())
                else:
                    self._remember(Speaker(phrase_text(tokens), rule="subject"), "person", gender_of(tokens), set())
            elif label in ("ORG", "NORP") and tok.pos_ == "PROPN":
                tokens = name_tokens(tok)
                kind = "group" if tok.tag_ == "NNPS" or label == "NORP" else "org"
                self._remember(Speaker(phrase_text(tokens), rule="subject"), kind, None, set())

    def _now(self) -> float:
        """The current sentence's number, plus a small step per mention within it."""
        self._tick += 1
        return self.clock + self._tick / 1000

    def _remember(self, speaker: Speaker, kind: str, gender: str | None, roles: set[str]) -> Mention:
        single = len(speaker.name.split()) == 1 and speaker.name[:1].isupper()
        words = surnames(speaker.name) if kind == "person" or single else set()
        for mention in self.mentions:
            if (kind == "person" or single) and mention.kind == "person" and words and words == mention.words:
                # The same person again ("Mr. Garin" after "Geoff Garin"): keep the fuller name.
                mention.at = self._now()
                mention.gender = mention.gender or gender
                mention.roles |= roles
                return mention
        mention = Mention(speaker, kind, gender, self._now(), words, set(roles))
        self.mentions.append(mention)
        return mention

    def _antecedent(self, pronoun: str) -> Mention | None:
        want = PRONOUNS.get(pronoun)
        for mention in sorted(self.mentions, key=lambda m: -m.at):
            if self.clock - mention.at > LOOKBACK_SENTENCES:
                break
            if want in ("m", "f", "person"):
                if mention.kind == "person" and (want == "person" or mention.gender in (None, want)):
                    return mention
            elif want == "org":
                if mention.kind in ("org", "unknown"):
                    return mention
            elif mention.kind in ("group", "org", "unknown"):
                return mention
        return None

    def _description(self, found: Found) -> Mention | None:
        """The mention a description means: "the spokesman" a person given that role, "the ministry" a body so named."""
        head = found.head.lemma_.lower()
        for mention in sorted(self.mentions, key=lambda m: -m.at):
            if self.clock - mention.at > LOOKBACK_SENTENCES:
                break
            if head in mention.roles:
                return mention
            if mention.kind != "person" and head in {w.lower() for w in mention.speaker.name.split()}:
                return mention
        return None

    def _resolve(self, found: Found | None) -> Speaker | None:
        if found is None:
            return None
        if found.pronoun is not None:
            if found.pronoun in ("i", "we") and found.rule != "relative":
                return None  # the writer's own voice in an op-ed, or a quotation's
            mention = self._antecedent(found.pronoun)
            if mention is None:
                return None
            mention.at = self._now()
            if found.pronoun in ("he", "she") and mention.gender is None:
                mention.gender = PRONOUNS[found.pronoun]
            return replace(mention.speaker, rule="pronoun", said_as=found.pronoun, via=found.via, cue=found.cue)
        if found.definite:
            mention = self._description(found)
            if mention is not None:
                mention.at = self._now()
                return replace(mention.speaker, rule="description", said_as=found.name, via=found.via, cue=found.cue)
        name = found.name
        acronym = ACRONYM.fullmatch(name)
        if acronym:
            name = acronym.group("short")
        words = name.split()
        short = next(
            (
                self.short_forms[" ".join(words[k:])]
                for k in range(len(words))
                if " ".join(words[k:]) in self.short_forms
            ),
            None,
        )
        if short is not None:
            name = short
        full = self.acronyms.get(name)
        speaker = Speaker(name, via=found.via, full_name=full, rule=found.rule, cue=found.cue)
        kind = "unknown" if found.kind == "unknown" else found.kind
        mention = self._remember(speaker, kind, found.gender, set(found.roles))
        if mention.speaker is not speaker and len(mention.speaker.name) > len(name):
            # A later short form ("Ricci", "Mr. Garin") as the name the article used first.
            return replace(mention.speaker, rule=found.rule, via=found.via, cue=found.cue)
        mention.speaker = speaker if mention.speaker.rule == "subject" else mention.speaker
        return speaker

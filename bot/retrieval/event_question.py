"""The question side of the asked-event check: its main verb and modality, read without a parser.

`event.py` asks whether a passage's number or date belongs to the asked event; this module reads
which event the question asks about. The query path never loads spaCy, so the reading is a light
one of the question's words (microseconds): its main verb after the auxiliaries, that verb's
guessed lemmas (to meet the lemma the build-time parse stored), whether it asks about a plan.
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.retrieval.question import STOP_AFTER_COUNT, stem

#: A question about a plan or forecast: then a goal ("aims to vaccinate 1.2 million") may answer it.
_IRREALIS = re.compile(
    r"\b(?:will|would|could|might|may|should|shall|going to|set to|plans?|planned|planning|aims?|aimed|"
    r"expects?|expected|goal|target(?:s|ed)?|wants?|propose[sd]?|proposal|intends?|intended|hopes?|hoped|"
    r"projected|forecast|predicted|likely|promise[sd]?|pledge[sd]?)\b",
    re.I,
)
#: Words that never name the asked event: question words, auxiliaries, light verbs, fillers.
_NOT_EVENT = STOP_AFTER_COUNT | frozenset(
    [
        "how",
        "many",
        "much",
        "when",
        "what",
        "which",
        "where",
        "who",
        "whom",
        "why",
        "time",
        "date",
        "day",
        "year",
        "month",
        "until",
        "since",
        "first",
        "last",
        "still",
        "far",
        "now",
        "currently",
        "already",
        "ever",
        "percent",
        "percentage",
        "number",
        "share",
        "long",
        "old",
        "there",
        "its",
        "their",
        "his",
        "her",
        "they",
        "more",
        "less",
        "fewer",
        "total",
        "get",
        "got",
        "make",
        "made",
        "take",
        "took",
        "taken",
        "give",
        "gave",
        "given",
        "go",
        "went",
        "gone",
        "come",
        "came",
    ]
)


#: Auxiliaries: the asked event's verb follows the question's first chain of them ("were killed",
#: "have been detained", "did Nabisco lay off").
_AUXILIARIES = frozenset(
    [
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "will",
        "would",
        "could",
        "can",
        "should",
        "may",
        "might",
        "shall",
        "must",
        "isn't",
        "aren't",
        "wasn't",
        "weren't",
        "don't",
        "doesn't",
        "didn't",
        "haven't",
        "hasn't",
        "hadn't",
        "won't",
        "wouldn't",
        "couldn't",
        "can't",
    ]
)
#: Words that open a clause of their own inside the question ("since their rights were restored",
#: "once the ballots were counted"): its verb is a circumstance of the asked event, not the event.
_SUBORDINATORS = frozenset(
    [
        "since",
        "after",
        "before",
        "while",
        "because",
        "until",
        "till",
        "once",
        "although",
        "though",
        "unless",
        "if",
        "whereas",
        "when",
        "where",
        "whenever",
        "according",
        "despite",
    ]
)
#: Relative pronouns: "How many soldiers who were deployed have died?" asks about dying.
_RELATIVES = frozenset({"who", "that", "which", "whom", "whose"})
#: Ends of a verb that can follow an auxiliary directly ("were killed", "have voted", "is spending").
_VERB_FORM = re.compile(r"(?:ed|en|ing)$")


@lru_cache(maxsize=4096)
def asked_event(question: str, asked_noun: str | None = None) -> tuple[str, ...]:
    """The words that may name the asked event: the main verb, or its clause's words when unsure.

    Read without a parser (the query path never loads spaCy; microseconds a question). A question's
    other verbs belong to other events: a participle of the subject ("How many of the refugees
    detained in Texas were released?" asks about releasing) or a clause of its own ("How many felons
    have voted since their rights were restored?" asks about voting). So:

    - the words from the question word to the first subordinator ("since", "after", "once", ...)
      are read, the rest dropped;
    - the main clause starts after the first chain of auxiliaries ("were", "have been", "did"),
      skipping one that ends a relative clause of the subject ("soldiers who were deployed have
      died"); a subject modifier stands before it and is left out;
    - if that chain is followed at once by a verb form ("were killed", "have arrived") that word is
      the event, alone; after an inverted subject ("did the council approve the budget", "has the
      RNC sent") the verb cannot be told from the nouns without a parser, and the clause's content
      words stand for it (a number hangs from a verb, rarely from a noun of the question);
    - without an auxiliary ("How many people died in the attack?") the words after the question word.

    Left out everywhere: question and auxiliary words, light verbs, the counted noun, names
    (capitalised after the first word).
    """
    tokens = re.findall(r"[\w’'-]+", question)
    low = [w.casefold().replace("’", "'") for w in tokens]
    # The question word opens the main clause: "how many/much" (also "by how much"), "number of", "when".
    start = next((i + 2 for i, w in enumerate(low[:-1]) if w == "how" and low[i + 1] in ("many", "much")), None)
    if start is None:
        start = next((i + 1 for i, w in enumerate(low) if w in ("when", "what", "which")), 0)
    end = next((i for i in range(start, len(low)) if low[i] in _SUBORDINATORS), len(low))
    chain = _main_auxiliaries(low, start, end)
    if chain is not None:
        start = chain
        verb_form = start < end and (_VERB_FORM.search(low[start]) is not None or low[start] in _IRREGULAR)
        if verb_form and _may_name_event(tokens, low, start, asked_noun):
            return (low[start],)
    return tuple(low[i] for i in range(start, end) if _may_name_event(tokens, low, i, asked_noun))


def _main_auxiliaries(low: list[str], start: int, end: int) -> int | None:
    """Where the main clause's verb may start: just after the first auxiliary chain of the main clause.

    A chain inside a relative clause of the subject ("who were deployed") is passed over when
    another chain follows before `end`. None: no auxiliary in the main clause.
    """
    chains = []
    i = start
    while i < end:
        if low[i] in _AUXILIARIES:
            j = i
            while j < end and low[j] in _AUXILIARIES:
                j += 1
            chains.append((i, j))
            i = j
        else:
            i += 1
    if not chains:
        return None
    first_at, first_end = chains[0]
    relative = any(low[k] in _RELATIVES for k in range(start, first_at))
    if relative and len(chains) > 1:
        return chains[1][1]
    return first_end


def _may_name_event(tokens: list[str], low: list[str], i: int, asked_noun: str | None) -> bool:
    """Whether the i-th word may name the asked event (not a function word, a name or the counted noun)."""
    w = low[i]
    return not (
        len(w) < 3
        or w in _NOT_EVENT
        or w in _AUXILIARIES
        or w == asked_noun
        or w[:1].isdigit()
        or (i > 0 and tokens[i][:1].isupper())
    )


#: Past forms the light stemmer cannot take back to the lemma spaCy stores ("began" -> "begin").
_IRREGULAR = {
    "began": "begin",
    "begun": "begin",
    "bought": "buy",
    "brought": "bring",
    "built": "build",
    "caught": "catch",
    "chose": "choose",
    "chosen": "choose",
    "cut": "cut",
    "died": "die",
    "drew": "draw",
    "drawn": "draw",
    "drove": "drive",
    "driven": "drive",
    "fell": "fall",
    "fallen": "fall",
    "fled": "flee",
    "fought": "fight",
    "found": "find",
    "flew": "fly",
    "flown": "fly",
    "froze": "freeze",
    "frozen": "freeze",
    "grew": "grow",
    "grown": "grow",
    "held": "hold",
    "hid": "hide",
    "hit": "hit",
    "hurt": "hurt",
    "kept": "keep",
    "knew": "know",
    "known": "know",
    "laid": "lay",
    "led": "lead",
    "left": "leave",
    "lent": "lend",
    "lost": "lose",
    "met": "meet",
    "paid": "pay",
    "put": "put",
    "quit": "quit",
    "ran": "run",
    "raised": "raise",
    "rose": "rise",
    "risen": "rise",
    "said": "say",
    "saw": "see",
    "seen": "see",
    "sent": "send",
    "set": "set",
    "shot": "shoot",
    "shut": "shut",
    "sold": "sell",
    "sought": "seek",
    "spent": "spend",
    "spoke": "speak",
    "spoken": "speak",
    "stole": "steal",
    "stolen": "steal",
    "struck": "strike",
    "swore": "swear",
    "sworn": "swear",
    "taught": "teach",
    "thought": "think",
    "threw": "throw",
    "thrown": "throw",
    "told": "tell",
    "took": "take",
    "voted": "vote",
    "woke": "wake",
    "won": "win",
    "wore": "wear",
    "wrote": "write",
    "written": "write",
}


#: Endings taken off a word to guess its lemma, each with what may have stood there.
_DEINFLECT = (("ied", ("y",)), ("ies", ("y",)), ("ed", ("", "e")), ("ing", ("", "e")), ("es", ("", "e")), ("s", ("",)))


@lru_cache(maxsize=8192)
def lemmas_of(word: str) -> frozenset[str]:
    """The lemmas an inflected word may have ("vaccinated" -> vaccinate, vaccinat; "died" -> die).

    The question is read without a parser, so a word's lemma is guessed: every plausible
    de-inflection is kept, and one of them meets the lemma the build-time parse stored.
    """
    w = word.casefold()
    out = {w, stem(w)}
    if w in _IRREGULAR:
        out.add(_IRREGULAR[w])
    for suffix, repls in _DEINFLECT:
        if w.endswith(suffix) and len(w) - len(suffix) >= 2:
            root = w[: -len(suffix)]
            out.update(root + r for r in repls)
            if suffix in ("ed", "ing") and len(root) >= 3 and root[-1] == root[-2]:  # "stopped", "cutting"
                out.add(root[:-1])
            break
    return frozenset(out)


def asks_irrealis(question: str) -> bool:
    """Whether the question asks about a plan, forecast or possibility ("How many will be hired?").

    Then a goal or forecast in the passage may answer it; a question about what happened needs a fact.
    """
    return bool(_IRREALIS.search(question))
